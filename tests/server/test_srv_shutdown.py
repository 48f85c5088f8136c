"""rainbow.shutdown in-process: a first signal sets `stop` and says so once, the handlers are restored afterwards.
(A second signal ends the process: tests/reliability/test_rel_signals.py runs that against the real commands.)"""
from __future__ import annotations

import os
import signal

from rainbow.shutdown import StopSignals


def test_a_first_signal_sets_stop_and_says_so_once():
    said: list[str] = []
    before = signal.getsignal(signal.SIGTERM)
    with StopSignals(grace=30.0, say=said.append, stopping="winding down") as signals:
        assert not signals.stop.is_set()
        os.kill(os.getpid(), signal.SIGTERM)
        assert signals.stop.wait(10.0)
        assert signals.stop.signum == signal.SIGTERM
    assert said == ["SIGTERM received: winding down"]
    assert signal.getsignal(signal.SIGTERM) is before


def test_no_signal_no_stop_and_the_block_ends_at_once():
    said: list[str] = []
    with StopSignals(grace=30.0, say=said.append) as signals:
        assert not signals.stop.wait(0.05)
    assert said == []
