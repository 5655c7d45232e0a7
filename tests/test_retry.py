"""The one retry helper: its delays, attempts and give-up, transient against permanent errors, a cancelled
backoff; and every output's retry numbers as they were before they shared it (a fake clock, no waiting)."""

from __future__ import annotations

import threading

import pytest

from pii_gen.retry import GaveUp, RetryPolicy
from pii_gen.sinks import database
from pii_gen.stream.destinations import http, nats, redis


class Clock:
    """A sleep that only notes how long it was asked to wait."""

    def __init__(self, cancel_after: int | None = None) -> None:
        self.waits: list[float] = []
        self.cancel_after = cancel_after

    def __call__(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return self.cancel_after is not None and len(self.waits) >= self.cancel_after


class Flaky:
    """Fails with ``errors`` in turn, then returns ``"done"``; counts its calls."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def test_delays_grow_by_the_factor_up_to_the_cap():
    assert RetryPolicy(4, 0.5).delays() == (0.5, 1.0, 2.0, 4.0)
    assert RetryPolicy(5, 1.0, factor=3.0, cap=10.0).delays() == (1.0, 3.0, 9.0, 10.0, 10.0)
    assert RetryPolicy(0, 1.0).delays() == ()


def test_transient_errors_are_retried_until_the_action_succeeds():
    clock, action, seen = Clock(), Flaky(TimeoutError("a"), TimeoutError("b")), []
    policy = RetryPolicy(5, 0.1)
    assert policy.call(action, sleep=clock, on_retry=lambda n, err: seen.append((n, str(err)))) == "done"
    assert action.calls == 3
    assert clock.waits == [0.1, 0.2]
    assert seen == [(1, "a"), (2, "b")]  # on_retry runs after each wait, with the error that caused it


def test_gives_up_with_the_last_error_once_the_retries_are_spent():
    clock, action = Clock(), Flaky(*(TimeoutError(str(i)) for i in range(10)))
    with pytest.raises(GaveUp) as gave:
        RetryPolicy(3, 0.2).call(action, sleep=clock)
    assert action.calls == 4  # the first attempt and three retries
    assert clock.waits == [0.2, 0.4, 0.8]
    assert str(gave.value.error) == "3" and gave.value.retries == 3 and not gave.value.permanent


def test_a_permanent_error_is_not_retried():
    clock, action = Clock(), Flaky(TimeoutError("slow"), ValueError("refused"))
    policy = RetryPolicy(6, 0.2, transient=lambda err: isinstance(err, TimeoutError))
    with pytest.raises(GaveUp) as gave:
        policy.call(action, sleep=clock)
    assert action.calls == 2 and clock.waits == [0.2]
    assert isinstance(gave.value.error, ValueError) and gave.value.permanent and gave.value.retries == 1


def test_no_retries_means_one_attempt():
    clock, action = Clock(), Flaky(TimeoutError("x"))
    with pytest.raises(GaveUp):
        RetryPolicy(0, 1.0).call(action, sleep=clock)
    assert action.calls == 1 and clock.waits == []


def test_a_cancelled_sleep_ends_the_backoff_at_once():
    clock, action = Clock(cancel_after=2), Flaky(*(TimeoutError(str(i)) for i in range(10)))
    with pytest.raises(GaveUp) as gave:
        RetryPolicy(6, 0.2).call(action, sleep=clock)
    assert action.calls == 2 and clock.waits == [0.2, 0.4]  # no attempt after the cancel
    assert gave.value.retries == 1 and not gave.value.permanent


def test_an_event_wait_is_a_cancel_aware_sleep():
    cancel = threading.Event()
    cancel.set()
    action = Flaky(TimeoutError("x"), TimeoutError("y"))
    with pytest.raises(GaveUp):
        RetryPolicy(6, 30.0).call(action, sleep=cancel.wait)  # would wait 30 s if the cancel were ignored
    assert action.calls == 1


def test_what_on_retry_raises_propagates_unchanged():
    def reconnect(retry: int, err: Exception) -> None:
        raise ConnectionRefusedError("still down")

    with pytest.raises(ConnectionRefusedError):
        RetryPolicy(3, 0.1).call(Flaky(TimeoutError("x")), on_retry=reconnect, sleep=Clock())


@pytest.mark.parametrize(
    ("retries", "base", "waits"),
    [
        (database.RETRIES, database.BACKOFF_SECONDS, [0.2, 0.4, 0.8, 1.6, 3.2, 6.4]),
        (http.RETRIES, http.BACKOFF_SECONDS, [0.1, 0.2, 0.4, 0.8, 1.6, 3.2]),
        (redis.RETRIES, redis.BACKOFF_SECONDS, [0.2, 0.4, 0.8]),
        (nats.RETRIES, nats.BACKOFF_SECONDS, [0.2, 0.4, 0.8]),
    ],
    ids=["database", "http", "redis", "nats"],
)
def test_each_output_keeps_the_waits_it_had(retries, base, waits):
    assert list(RetryPolicy(retries, base).delays()) == pytest.approx(waits)
