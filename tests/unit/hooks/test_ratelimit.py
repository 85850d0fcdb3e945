"""The process's client-side rate limit (hooks/ratelimit.py) on a fake monotonic clock: spacing, AIMD, sharing.

The same limiter against the emulator's account QPS, many callers at once, is in
tests/reliability/test_edition_limits.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from airflow_provider_dataworks.hooks import ratelimit
from airflow_provider_dataworks.hooks.ratelimit import INCREASE_PER_CALL, MIN_QPS, RateLimiter, limiter_for


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=fake.monotonic))
    return fake


def test_calls_are_spaced_one_interval_apart(clock: Clock) -> None:
    limiter = RateLimiter(4)
    assert [limiter.reserve() for _ in range(4)] == [0, 0.25, 0.5, 0.75]
    clock.now += 10  # idle: no debt carried over
    assert limiter.reserve() == 0


def test_a_refusal_halves_the_rate_and_pushes_the_next_slot_out(clock: Clock) -> None:
    limiter = RateLimiter(8)
    limiter.throttled()
    assert (limiter.rate, limiter.cuts, limiter.refusals) == (4, 1, 1)
    assert limiter.reserve() == pytest.approx(0.25)  # the next call waits one interval at the new rate


def test_a_burst_of_refusals_within_one_interval_is_one_signal(clock: Clock) -> None:
    limiter = RateLimiter(8)
    for _ in range(5):
        limiter.throttled()
    assert (limiter.rate, limiter.cuts, limiter.refusals) == (4, 1, 5)
    clock.now += limiter.interval  # one interval later: a new signal
    limiter.throttled()
    assert (limiter.rate, limiter.cuts) == (2, 2)


def test_refusals_never_slow_a_limiter_below_its_floor(clock: Clock) -> None:
    limiter = RateLimiter(8)
    for _ in range(30):
        clock.now += limiter.interval
        limiter.throttled()
    assert limiter.rate == MIN_QPS and limiter.interval == 20


def test_each_call_that_goes_through_adds_back_a_twentieth_of_the_ceiling(clock: Clock) -> None:
    limiter = RateLimiter(20)
    limiter.throttled()
    steps = 0
    while limiter.rate < 20:
        limiter.succeeded()
        steps += 1
    assert steps == round(0.5 / INCREASE_PER_CALL) and limiter.rate == 20
    limiter.succeeded()
    assert limiter.rate == 20  # never above the ceiling


def test_one_limiter_per_connection_endpoint_rate_and_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "_LIMITERS", {})
    reads = limiter_for("dw", "dataworks.cn-hangzhou.aliyuncs.com", 2.0, "read")
    assert limiter_for("dw", "dataworks.cn-hangzhou.aliyuncs.com", 2.0, "read") is reads
    others = [
        limiter_for("dw", "dataworks.cn-hangzhou.aliyuncs.com", 2.0, "write"),
        limiter_for("dw", "dataworks.cn-shanghai.aliyuncs.com", 2.0, "read"),
        limiter_for("dw2", "dataworks.cn-hangzhou.aliyuncs.com", 2.0, "read"),
        limiter_for("dw", "dataworks.cn-hangzhou.aliyuncs.com", 5.0, "read"),
    ]
    assert all(o is not reads for o in others) and len({id(o) for o in others}) == 4
