"""The simulated System's command line: every fault flag reaches its switch."""

from __future__ import annotations

import argparse

from simulator import portal, system
from tests.conftest import Clock


def test_the_flags_build_the_simulated_system() -> None:
    parser = argparse.ArgumentParser()
    portal.add_arguments(parser)
    system.add_arguments(parser)
    flags = [
        "--system-token", "t", "--system-plant", "P", "--system-logger", "ZVM-CONNEXT",
        "--system-error", "502", "--system-callback-delay", "0.5", "--history-days", "1",
        "--system-token-rejected", "--system-callback-never", "--system-callback-twice",
        "--system-callback-malformed", "--system-callback-other", "--system-callback-failed",
    ]  # fmt: skip
    built = system.from_arguments(parser.parse_args(flags), Clock(1_750_000_000.0))
    assert (built.token, built.plant, built.logger, built.callback_delay) == (
        "t",
        "P",
        "ZVM-CONNEXT",
        0.5,
    )
    assert built.faults == system.SystemFaults(
        token_rejected=True,
        server_error=502,
        callback_never=True,
        callback_twice=True,
        callback_malformed=True,
        callback_other=True,
        callback_failed=True,
    )
    assert system.from_arguments(parser.parse_args([]), Clock(0.0)).faults == system.SystemFaults()
