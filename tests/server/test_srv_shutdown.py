"""rainbow.shutdown in-process: signals arrive through the socket, the work's result and errors come back, a first
signal asks the work to stop. (A second signal ends the process: tests/reliability/test_rel_signals.py.)"""
from __future__ import annotations

import os
import signal
import threading

import pytest

from rainbow.shutdown import Stop, StopSignals, supervise


def test_signals_are_read_in_order_and_handlers_restored():
    before = signal.getsignal(signal.SIGTERM)
    with StopSignals() as signals:
        assert signals.pending() is None
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        got = [signals.wait(5.0), signals.wait(5.0)]
        assert sorted(got) == sorted([signal.SIGTERM, signal.SIGINT])
        assert signals.wait(0.01) is None
    assert signal.getsignal(signal.SIGTERM) is before


def test_supervise_returns_the_result_and_reraises_the_error():
    with StopSignals() as signals:
        assert supervise(lambda stop: 42, signals=signals, grace=1.0, say=print) == 42
        with pytest.raises(ValueError, match="bad"):
            supervise(lambda stop: (_ for _ in ()).throw(ValueError("bad")), signals=signals, grace=1.0, say=print)


def test_a_first_signal_asks_the_work_to_stop_and_says_so_once():
    said: list[str] = []
    stopped: list[int] = []

    def work(stop: Stop) -> str:
        threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGTERM)).start()
        assert stop.wait(10.0)
        stopped.append(stop.signum)
        return "done"

    with StopSignals() as signals:
        assert supervise(work, signals=signals, grace=5.0, say=said.append, stopping="winding down") == "done"
    assert stopped == [signal.SIGTERM]
    assert said == ["SIGTERM received: winding down"]
