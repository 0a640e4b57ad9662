"""Faults a front end can be told to show, as real links and devices do."""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from dataclasses import Field, dataclass, field, fields
from types import NoneType
from typing import Any, cast, get_args, get_type_hints

# The function byte Sofar firmware refuses reads under (the exception form of 0x10).
_SOFAR_REFUSAL = 0x90


@dataclass
class Faults:
    """All off by default; tests switch them on and off while clients are connected.

    Every field is also a flag of `python -m simulator` (see add_flags), its doc the help.
    """

    silent: bool = field(default=False, doc="swallow requests: no answer at all")
    # As loggers that drop requests longer than their buffer have been seen to.
    silent_over: int | None = field(
        default=None, doc="swallow reads of more than this many registers: no answer to them"
    )
    delay: float = field(default=0.0, doc="seconds before each answer")
    jitter: float = field(
        default=0.0, doc="up to this many seconds more before each answer, at random (a busy stick)"
    )
    drop: bool = field(default=False, doc="close the connection when a request arrives")
    reset: bool = field(default=False, doc="reset the connection (TCP RST) on a request")
    bad_crc: bool = field(
        default=False, doc="answer with a wrong CRC (Modbus TCP: a wrong transaction id)"
    )
    garbage: bool = field(default=False, doc="answer with bytes that are no frame")
    exception: int | None = field(default=None, doc="answer every request with this exception code")
    wrong_unit: bool = field(default=False, doc="answer as if from another unit id")
    short: bool = field(
        default=False, doc="answer one register short (a read's data, a write's echo), validly"
    )
    wrong_function: bool = field(
        default=False, doc="answer in a valid frame, but to another function"
    )
    lose_write_answer: bool = field(
        default=False, doc="apply a write, then close the connection unanswered"
    )
    # As a link without a checksum can; RTU answers get the CRC of the changed bytes.
    corrupt: float = field(
        default=0.0, doc="share of read answers (0..1) with one data byte changed, validly framed"
    )
    # As gateways have been seen to hand one request's answer to another.
    crossed: float = field(
        default=0.0,
        doc="share of read answers (0..1) replaced by the previous one of the same length",
    )
    lse3_writes: bool = field(
        default=False,
        doc="apply a write-multiple, then answer it as the LSE-3 logger does: the function "
        "and one zero byte (Modbus TCP 00 01 00 00 00 03 01 10 00; evcc-io/evcc#33016)",
    )
    damage_writes: float = field(
        default=0.0,
        doc="share of write answers (0..1), the write applied, that come back damaged: cut "
        "short, as the LSE-3's, another register's echo, or not at all",
    )
    # MichaluxPL/Sofar_LSW3#59: `01 90 02 cd c1` for a read of registers a G3 does not serve.
    sofar_refusal: bool = field(
        default=False,
        doc="refuse reads of registers not served as Sofar firmware does: function byte 0x90",
    )

    def swallows(self, pdu: bytes) -> bool:
        """Whether the request (its PDU) gets no answer at all."""
        if self.silent:
            return True
        long_read = pdu[:1] in (b"\x03", b"\x04") and int.from_bytes(pdu[3:5]) > (
            self.silent_over or 125
        )
        return self.silent_over is not None and long_read


def add_flags(
    parser: argparse.ArgumentParser,
    kind: type[Any] = Faults,
    *,
    prefix: str = "",
    title: str = "faults of the ETH stick (--link eth)",
) -> None:
    """One flag per field of a faults dataclass: --bad-crc for bad_crc (after `prefix`).

    A field's `doc` is the flag's help; its metadata may name the flag ("flag") and the
    values it takes ("choices"). Faults that are not on/off take a value.
    """
    group = parser.add_argument_group(title, "make the link fail the ways real links fail")
    hints = get_type_hints(kind)
    for fault in fields(kind):
        flag = "--" + prefix + fault.metadata.get("flag", fault.name).replace("_", "-")
        hint = hints[fault.name]
        (value,) = [arg for arg in get_args(hint) or (hint,) if arg is not NoneType]  # int | None
        # Left out, a flag is None and the fault keeps its default.
        options: dict[str, Any] = {"dest": _dest(fault, prefix), "default": None, "help": fault.doc}
        if value is bool:
            group.add_argument(flag, action="store_true", **options)
        elif value in (int, float):
            choices = fault.metadata.get("choices")
            metavar = None if choices else fault.name.upper()
            group.add_argument(
                flag, type=_number(value), choices=choices, metavar=metavar, **options
            )
        else:
            raise TypeError(f"no flag for a fault of type {value}: {fault.name}")


def _dest(fault: Field[Any], prefix: str) -> str:
    return (prefix + fault.name).replace("-", "_")


def _number(kind: type[int | float]) -> Callable[[str], int | float]:
    """How a flag's text becomes its value (argparse names it in its error)."""
    return integer if kind is int else kind


def integer(text: str) -> int:
    """An int written 0x04 as well as 4."""
    return int(text, 0)


def from_flags[T](arguments: argparse.Namespace, kind: type[T], prefix: str = "") -> T:
    """The faults the flags switched on; the others at their defaults."""
    chosen = {
        fault.name: value
        for fault in fields(cast("Any", kind))
        if (value := getattr(arguments, _dest(fault, prefix))) is not None
    }
    return kind(**chosen)


def refused(faults: Faults, pdu: bytes) -> bytes:
    """An answer PDU as the device's firmware writes it: Sofar's refusal under 0x90.

    Only a read of registers it does not serve (illegal address): what captures show.
    """
    if faults.sofar_refusal and pdu in (b"\x83\x02", b"\x84\x02"):
        return bytes([_SOFAR_REFUSAL, pdu[1]])
    return pdu


class AnswerDamage:
    """What the answer faults do to one front end's answers, drawn from `random`, counted.

    Read answers: corrupt and crossed. Write answers (once the write was applied):
    lse3_writes, short and damage_writes.
    """

    def __init__(self, rng: random.Random) -> None:
        """No answer damaged yet."""
        self.random = rng
        self.corrupted = 0  # read answers
        self.damaged_writes = 0
        self._last: bytes | None = None

    def read(self, faults: Faults, pdu: bytes) -> bytes:
        """A read answer as the corrupt and crossed faults leave it."""
        if pdu[0] != 0x03:
            return pdu
        last, self._last = self._last, pdu
        # No draw for the crossed fault unless it is on: a run's corruptions repeat with its seed.
        if (
            faults.crossed
            and last is not None
            and len(last) == len(pdu)
            and self.random.random() < faults.crossed
        ):
            self.corrupted += last != pdu
            return last
        if self.random.random() < faults.corrupt:
            self.corrupted += 1
            damaged = bytearray(pdu)
            damaged[self.random.randrange(2, len(pdu))] ^= self.random.randrange(1, 256)
            return bytes(damaged)
        return pdu

    def write(self, faults: Faults, pdu: bytes) -> bytes | None:
        """A write's answer as the write faults leave it; None: no answer at all."""
        answer = write_answer(faults, pdu, self.random)
        self.damaged_writes += answer != pdu
        return answer


# The LSE-3 logger's answer to a write-multiple it has applied, where the echo of address and
# count belongs (evcc-io/evcc#33016, firmware ME_0E_5406_4.0E; the same on Sofar inverters in
# wills106/homeassistant-solax-modbus#843). Over RTU the same PDU, with unit and CRC.
LSE3_WRITE_ANSWER = bytes([0x10, 0x00])
_WRITES = (0x06, 0x10)


def write_answer(faults: Faults, pdu: bytes, rng: random.Random) -> bytes | None:
    """The answer PDU to a request as the write faults leave it; None: no answer at all.

    Only a write's echo is changed, and only once the device took the write: an exception
    answer stays what it is. No draw unless damage_writes is on, so a seeded run repeats.
    """
    if pdu[0] not in _WRITES:
        return pdu
    if faults.lse3_writes and pdu[0] == 0x10:
        return LSE3_WRITE_ANSWER
    if faults.short and pdu[0] == 0x10:
        # One register short: the echo's count less one.
        return pdu[:3] + (int.from_bytes(pdu[3:5]) - 1).to_bytes(2)
    if faults.damage_writes and rng.random() < faults.damage_writes:
        damaged = (
            pdu[:-2],  # cut short: the echo without its last word
            bytes([pdu[0], 0x00]),  # as the LSE-3's
            pdu[:1] + ((int.from_bytes(pdu[1:3]) + 1) & 0xFFFF).to_bytes(2) + pdu[3:],  # elsewhere
            None,  # none at all
        )
        return damaged[rng.randrange(len(damaged))]
    return pdu
