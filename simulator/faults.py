"""Faults a front end can be told to show, as real links and devices do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Faults:
    """All off by default; tests switch them on and off while clients are connected."""

    silent: bool = False  # swallow requests: no answer at all
    delay: float = 0.0  # seconds before each answer
    drop: bool = False  # close the connection when a request arrives
    reset: bool = False  # reset the connection (TCP RST) when a request arrives
    bad_crc: bool = False  # answer with a wrong CRC (Modbus TCP: a wrong transaction id)
    garbage: bool = False  # answer with bytes that are no frame
    exception: int | None = None  # answer every request with this exception code
    wrong_unit: bool = False  # answer as if from another unit id
    short: bool = False  # answer one register short (a read's data, a write's echo), validly
    wrong_function: bool = False  # answer in a valid frame, but to another function
    lose_write_answer: bool = False  # apply a write, then close the connection unanswered
    # Share of read answers (0..1) with one data byte changed at random, framed as valid
    # answers (RTU: with the CRC of the changed bytes), as a link without a checksum can.
    corrupt: float = 0.0
    # Share of read answers (0..1) replaced by the stick's previous read answer when that has
    # the same length: one request's answer handed to another, as gateways have been seen to.
    crossed: float = 0.0
