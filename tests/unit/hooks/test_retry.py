"""The hook's retry policy (hooks/dataworks.py, exceptions.py): what is retried, how often, how long it waits.

The SDK's own exceptions are raised by a fake client (no server, no connection lookup: the hook is handed its
settings), and tenacity's sleeps are recorded instead of slept. The same policy against the emulator's injected
faults is in tests/integration/test_hook.py, tests/reliability/test_edition_limits.py and
test_reliability_faults.py.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterator
from typing import Any

import pytest
import tenacity
from alibabacloud_tea_openapi.exceptions import (
    AlibabaCloudException,
    ClientException,
    ServerException,
    ThrottlingException,
)
from Tea.exceptions import UnretryableException

from airflow_provider_dataworks.domain.api_limits import api_kind
from airflow_provider_dataworks.exceptions import DataWorksApiError
from airflow_provider_dataworks.hooks import dataworks as hook_module
from airflow_provider_dataworks.hooks import metrics, ratelimit
from airflow_provider_dataworks.hooks.connection import parse_connection
from airflow_provider_dataworks.hooks.dataworks import (
    DataWorksHook,
    _retry_rule,
    _RetryWait,
    _StopRetrying,
    _throttled,
    _to_api_error,
    limiter_of,
)


def throttled(code: str = "Throttling.Api", retry_after_ms: int | None = None) -> ThrottlingException:
    return ThrottlingException(
        status_code=429, code=code, message="slow down", request_id="r-429", retry_after=retry_after_ms
    )


def server_error(status: int = 500, code: str = "InternalError.System") -> ServerException:
    return ServerException(status_code=status, code=code, message="oops", request_id="r-5xx")


def client_error(status: int, code: str) -> ClientException:
    return ClientException(
        status_code=status,
        code=code,
        message="no",
        request_id="r-4xx",
        data={"Message": "Not authorized.", "RequestId": "r-4xx"},
    )


def no_answer() -> UnretryableException:
    return UnretryableException(None, ConnectionResetError("connection reset by peer"))


DAILY_QUOTA = functools.partial(throttled, "Throttling.Api.Risk")


# ------------------------------------------------------------------------------------------- the one retry rule
@pytest.mark.parametrize(
    ("err", "code", "status", "transient", "surely_not_applied", "outcome"),
    [
        (throttled(), "Throttling.Api", 429, True, True, "throttled"),
        (throttled("Throttling.User"), "Throttling.User", 429, True, True, "throttled"),
        (DAILY_QUOTA(), "Throttling.Api.Risk", 429, False, False, "daily_quota"),
        (server_error(), "InternalError.System", 500, True, False, "server_error"),
        (server_error(503, "ServiceUnavailable"), "ServiceUnavailable", 503, True, False, "server_error"),
        (server_error(502, "BadGateway"), "BadGateway", 502, True, False, "server_error"),
        (no_answer(), "NoAnswer", None, True, False, "no_answer"),
        (client_error(400, "SignatureNonceUsed"), "SignatureNonceUsed", 400, True, False, "server_error"),
        (client_error(403, "Forbidden.Access"), "Forbidden.Access", 403, False, False, "client_error"),
        (client_error(400, "InvalidParameter"), "InvalidParameter", 400, False, False, "client_error"),
        (client_error(400, "SignatureDoesNotMatch"), "SignatureDoesNotMatch", 400, False, False, "client_error"),
        (client_error(404, "Invalid.Task.NotFound"), "Invalid.Task.NotFound", 404, False, False, "client_error"),
        (client_error(429, "TooManyRequests"), "TooManyRequests", 429, True, True, "throttled"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_each_sdk_error_is_read_as_passing_or_not(
    err: Exception, code: str, status: int | None, transient: bool, surely_not_applied: bool, outcome: str
) -> None:
    failed = _to_api_error("GetTask", err, "dw", 12.5)
    assert (failed.code, failed.http_status, failed.conn_id, failed.sent_at) == (code, status, "dw", 12.5)
    assert (failed.transient, failed.surely_not_applied, failed.daily_quota) == (
        transient,
        surely_not_applied,
        outcome == "daily_quota",
    )
    assert metrics.api_outcome(failed) == outcome


@pytest.mark.parametrize(
    ("err", "read", "trigger"),
    [
        (throttled(), True, True),
        (server_error(), True, False),  # a trigger after a 5xx may have taken effect
        (no_answer(), True, False),
        (DAILY_QUOTA(), False, False),
        (client_error(403, "Forbidden.Access"), False, False),
        (ValueError("not the SDK's"), False, False),
    ],
    ids=["throttled", "5xx", "no answer", "daily quota", "403", "not an SDK error"],
)
def test_reads_retry_every_passing_cause_and_the_trigger_only_throttling(
    err: Exception, read: bool, trigger: bool
) -> None:
    assert _retry_rule("GetTask", retry_ambiguous=True)(err) is read
    assert _retry_rule("TriggerSchedulerTaskInstance", retry_ambiguous=False)(err) is trigger
    assert _throttled("GetTask", err) is (trigger and read)


def test_the_error_keeps_code_message_and_request_id_and_nothing_else() -> None:
    failed = _to_api_error("GetTask", client_error(403, "Forbidden.Access"), "dw")
    said = str(failed)
    assert "HTTP 403 Forbidden.Access: Not authorized. (RequestId r-4xx)" in said and "Connection 'dw'" in said
    assert "lacks permission" in said and "statusCode" not in said


def test_no_answer_names_the_cause_briefly() -> None:
    failed = _to_api_error("GetTask", UnretryableException(None, TimeoutError("x" * 1000)))
    assert failed.code == "NoAnswer" and "TimeoutError: xxx" in failed.api_message
    assert len(failed.api_message) < 400


# -------------------------------------------------------------------------------------- when retrying stops
def state_after(err: Exception, attempt: int, elapsed_s: float) -> tenacity.RetryCallState:
    state = tenacity.RetryCallState(retry_object=tenacity.Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    state.outcome = tenacity.Future.construct(attempt, err, has_exception=True)
    state.outcome_timestamp = state.start_time + elapsed_s
    return state


def test_throttling_is_retried_for_a_time_budget_however_many_attempts() -> None:
    stop = _StopRetrying("GetTask", retry_limit=2, budget_s=300)
    assert not any(stop(state_after(throttled(), n, elapsed_s=n * 10.0)) for n in range(1, 30))
    assert stop(state_after(throttled(), 30, elapsed_s=300.0))


def test_other_passing_causes_stop_at_retry_limit_attempts_not_counting_throttled_ones() -> None:
    stop = _StopRetrying("GetTask", retry_limit=3, budget_s=300)
    assert not stop(state_after(throttled(), 1, 0.1))
    assert not stop(state_after(server_error(), 2, 0.2))
    assert not stop(state_after(throttled(), 3, 0.3))
    assert not stop(state_after(no_answer(), 4, 0.4))
    assert stop(state_after(server_error(), 5, 0.5))  # the third that is not throttling


# -------------------------------------------------------------------------------------------------- back-off
@pytest.fixture
def widest_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Full jitter draws uniformly in [0, high]: always draw the top of the window."""
    monkeypatch.setattr(tenacity.wait.random, "uniform", lambda low, high: high)


@pytest.mark.usefixtures("widest_jitter")
def test_the_back_off_window_doubles_from_half_a_second_up_to_30_s() -> None:
    wait = _RetryWait()
    tops = [wait(state_after(server_error(), n, 0)) for n in range(1, 10)]
    assert tops == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    assert (hook_module.RETRY_WAIT_MIN_S, hook_module.RETRY_WAIT_MAX_S) == (0.5, 30.0)


def test_the_back_off_is_jittered_within_its_window() -> None:
    wait = _RetryWait()
    for attempt in range(1, 12):
        for _ in range(20):
            assert 0 <= wait(state_after(server_error(), attempt, 0)) <= min(30, 0.5 * 2 ** (attempt - 1))


@pytest.mark.parametrize(("attempt", "hint_ms", "expected"), [(1, 2000, 2.0), (1, 400, 0.5), (8, 45_000, 45.0)])
@pytest.mark.usefixtures("widest_jitter")
def test_retry_after_is_a_floor_never_a_ceiling(attempt: int, hint_ms: int, expected: float) -> None:
    """x-acs-retry-after (ms) wins when it is longer than the back-off, even past the 30 s cap."""
    assert _RetryWait()(state_after(throttled(retry_after_ms=hint_ms), attempt, 0)) == expected


def test_without_retry_after_the_back_off_alone_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tenacity.wait.random, "uniform", lambda low, high: low)
    assert _RetryWait()(state_after(throttled(), 3, 0)) == 0
    assert _RetryWait()(state_after(throttled(retry_after_ms=0), 3, 0)) == 0


# -------------------------------------------------------------------------------------- the hook's call, whole
class Answer:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = type("Body", (), {"to_map": lambda _self: body})()


class FakeClient:
    """The SDK client: ``<action>_with_options`` answers each attempt from ``script`` (an error raises)."""

    def __init__(self, script: list[Exception | dict[str, Any]]) -> None:
        self.script = list(script)
        self.attempts: list[str] = []

    def __getattr__(self, name: str) -> Any:
        action = name.removesuffix("_with_options_async").removesuffix("_with_options")

        def attempt(request: Any, runtime: Any) -> Answer:
            self.attempts.append(action)
            outcome = self.script.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            return Answer(outcome)

        async def attempt_async(request: Any, runtime: Any) -> Answer:
            return attempt(request, runtime)

        return attempt_async if name.endswith("_async") else attempt


class Limiter(ratelimit.RateLimiter):
    """A limiter that never makes a call wait (the spacing is tested in test_ratelimit.py)."""

    def wait(self) -> None:
        pass

    async def await_slot(self) -> None:
        pass


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The back-off pauses the hook asks for, recorded instead of slept; each action kind has its own limiter."""
    slept: list[float] = []

    async def asleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(hook_module, "Retrying", functools.partial(tenacity.Retrying, sleep=slept.append))
    monkeypatch.setattr(hook_module, "AsyncRetrying", functools.partial(tenacity.AsyncRetrying, sleep=asleep))
    limiters: dict[str, Limiter] = {}
    monkeypatch.setattr(
        hook_module, "limiter_of", lambda settings, action: limiters.setdefault(api_kind(action), Limiter(20))
    )
    yield slept


def hook_for(*script: Exception | dict[str, Any], **extras: Any) -> tuple[DataWorksHook, FakeClient]:
    hook = DataWorksHook("dw")
    settings = parse_connection("dw", "ak", "sk", {"region_id": "cn-hangzhou", "retry_limit": 3, **extras})
    hook.__dict__["settings"] = settings
    hook._async_settings = settings
    hook._client = client = FakeClient(list(script))
    return hook, client


TASK = {"Task": {"Id": 700001, "ProjectId": 1001}}


def test_a_read_rides_out_throttling_and_a_5xx(sleeps: list[float]) -> None:
    hook, client = hook_for(throttled(retry_after_ms=1500), server_error(), TASK)
    assert hook.get_task(700001).id == 700001
    assert client.attempts == ["get_task"] * 3
    assert len(sleeps) == 2 and sleeps[0] >= 1.5 and 0 <= sleeps[1] <= 1.0


def test_the_trigger_is_retried_on_throttling_but_not_after_a_5xx(sleeps: list[float]) -> None:
    hook, client = hook_for(throttled(), server_error(), {"Success": True})
    with pytest.raises(DataWorksApiError) as raised:
        hook.trigger_instance(700001, 1_764_001_800_000, "Prod")
    assert client.attempts == ["trigger_scheduler_task_instance"] * 2 and len(sleeps) == 1
    assert raised.value.http_status == 500 and raised.value.transient and raised.value.sent_at is not None


def test_the_async_trigger_follows_the_same_rule(sleeps: list[float]) -> None:
    hook, client = hook_for(throttled(), no_answer(), {"Success": True})
    with pytest.raises(DataWorksApiError, match="NoAnswer"):
        asyncio.run(hook.atrigger_instance(700001, 1_764_001_800_000, "Prod"))
    assert client.attempts == ["trigger_scheduler_task_instance"] * 2 and len(sleeps) == 1


def test_a_rerun_whose_answer_was_lost_is_not_sent_again_but_a_stop_is(sleeps: list[float]) -> None:
    hook, client = hook_for(no_answer(), {"SuccessInfo": {"5": {"Success": True}}})
    with pytest.raises(DataWorksApiError, match="NoAnswer"):
        hook.rerun_instances([5], "why")
    assert client.attempts == ["rerun_task_instances"]
    hook, client = hook_for(server_error(), {"SuccessInfo": {"5": {"Success": True}}})
    assert hook.stop_instances([5], "why").done == (5,)
    assert client.attempts == ["stop_task_instances"] * 2


@pytest.mark.parametrize(
    "err", [DAILY_QUOTA(), client_error(403, "Forbidden.Access"), client_error(400, "SignatureDoesNotMatch")]
)
def test_what_does_not_pass_fails_at_the_first_attempt(sleeps: list[float], err: AlibabaCloudException) -> None:
    hook, client = hook_for(err, TASK)
    with pytest.raises(DataWorksApiError) as raised:
        hook.get_task(700001)
    assert client.attempts == ["get_task"] and sleeps == []
    assert raised.value.request_id == err.request_id and f"RequestId {err.request_id}" in str(raised.value)
    assert not raised.value.transient


def test_a_5xx_or_no_answer_is_tried_retry_limit_times(sleeps: list[float]) -> None:
    hook, client = hook_for(*[no_answer()] * 5, TASK)
    with pytest.raises(DataWorksApiError, match="NoAnswer"):
        hook.get_task(700001)
    assert len(client.attempts) == 3 and len(sleeps) == 2  # retry_limit=3


def test_throttling_outlasts_retry_limit_within_its_budget_and_then_a_5xx_burst_does_not(sleeps: list[float]) -> None:
    hook, client = hook_for(*[throttled("Throttling.User")] * 6, TASK, retry_limit=2, throttling_budget_s=30)
    assert hook.get_task(700001).id == 700001 and len(client.attempts) == 7
    hook, client = hook_for(*[server_error()] * 5, TASK, retry_limit=2)
    with pytest.raises(DataWorksApiError):
        hook.get_task(700001)
    assert len(client.attempts) == 2


def test_a_refusal_halves_the_rate_of_its_own_kind_of_call_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hook_module, "Retrying", functools.partial(tenacity.Retrying, sleep=lambda s: None))
    reads, writes = Limiter(20), Limiter(20)
    monkeypatch.setattr(hook_module, "limiter_of", lambda s, action: writes if action.startswith("Trigger") else reads)
    hook, _ = hook_for(throttled(), {"Success": True})
    hook.trigger_instance(700001, 1_764_001_800_000, "Prod")
    assert (writes.refusals, writes.cuts) == (1, 1) and writes.rate == pytest.approx(
        10 + 20 * ratelimit.INCREASE_PER_CALL
    )
    assert (reads.refusals, reads.rate) == (0, 20)


def test_each_kind_of_call_is_limited_by_the_connections_qps_and_the_accounts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "_LIMITERS", {})
    settings = parse_connection("dw-kinds", "ak", "sk", {"region_id": "cn-hangzhou", "qps": 40})
    assert limiter_of(settings, "GetTask").ceiling == 40  # reads: 50 an account
    assert limiter_of(settings, "StopTaskInstances").ceiling == 20  # writes: 20 an account
    assert limiter_of(settings, "GetTask") is limiter_of(settings, "ListTaskInstances")
    assert limiter_of(settings, "GetTask") is not limiter_of(settings, "TriggerSchedulerTaskInstance")
