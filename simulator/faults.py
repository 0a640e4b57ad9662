"""Faults a front end can be told to show, as real links and devices do."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from types import NoneType
from typing import get_args, get_type_hints


@dataclass
class Faults:
    """All off by default; tests switch them on and off while clients are connected.

    Every field is also a flag of `python -m simulator` (see add_flags), its doc the help.
    """

    silent: bool = field(default=False, doc="swallow requests: no answer at all")
    delay: float = field(default=0.0, doc="seconds before each answer")
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


def add_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per fault: --bad-crc for bad_crc; a value for the faults that are not on/off."""
    group = parser.add_argument_group(
        "faults of the ETH stick (--link eth)", "make the link fail the ways real links fail"
    )
    hints = get_type_hints(Faults)
    for fault in fields(Faults):
        flag = "--" + fault.name.replace("_", "-")
        hint = hints[fault.name]
        (kind,) = [arg for arg in get_args(hint) or (hint,) if arg is not NoneType]  # int | None
        # Left out, a flag is None and the fault keeps its default.
        if kind is bool:
            group.add_argument(flag, action="store_true", default=None, help=fault.doc)
        elif kind in (int, float):
            group.add_argument(flag, type=_number(kind), metavar=fault.name.upper(), help=fault.doc)
        else:
            raise TypeError(f"no flag for a fault of type {kind}: {fault.name}")


def _number(kind: type[int | float]) -> Callable[[str], int | float]:
    """How a flag's text becomes its value (argparse names it in its error)."""
    return integer if kind is int else kind


def integer(text: str) -> int:
    """An int written 0x04 as well as 4."""
    return int(text, 0)


def from_flags(arguments: argparse.Namespace) -> Faults:
    """The faults the flags switched on; the others at their defaults."""
    chosen = {
        fault.name: value
        for fault in fields(Faults)
        if (value := getattr(arguments, fault.name)) is not None
    }
    return Faults(**chosen)
