"""Enterprise edition's limits (issue 23): the emulator plays an account's read and write QPS per region and answers
DataWorks' throttling codes; the hook retries throttling within a time budget (not a count) and halves its own
rate on each refusal (AIMD), so many processes on one account do not fail their tries."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import pytest

from airflow_provider_dataworks.domain.api_limits import api_kind
from airflow_provider_dataworks.emulator import DataWorksEmulator
from airflow_provider_dataworks.emulator.api.quota import Quota
from airflow_provider_dataworks.emulator.backend import ApiError
from airflow_provider_dataworks.exceptions import DataWorksApiError
from airflow_provider_dataworks.hooks import ratelimit
from airflow_provider_dataworks.hooks.dataworks import DataWorksHook, limiter_of
from tests.conftest import RELEASE, WORKSPACE, T, connection_json

NOW = datetime(2026, 11, 25, tzinfo=timezone.utc)
KEY = "1234567890123456/cn-hangzhou"


@pytest.fixture(autouse=True)
def fresh_limiters() -> None:
    ratelimit._LIMITERS.clear()


def test_reads_and_writes_are_told_apart() -> None:
    reads = ("GetTask", "GetTaskInstance", "ListTaskInstances", "ListDownstreamTaskInstances", "GetWorkflowInstance",
             "GetProject", "ListProjects")  # fmt: skip
    writes = ("TriggerSchedulerTaskInstance", "StopTaskInstances", "RerunTaskInstances", "SetSuccessTaskInstances",
              "SuspendTaskInstances", "ResumeTaskInstances", "StopWorkflowInstances")  # fmt: skip
    assert {api_kind(a) for a in reads} == {"read"} and {api_kind(a) for a in writes} == {"write"}


def test_the_quota_counts_reads_and_writes_in_their_own_second() -> None:
    quota = Quota()
    quota.configure(read_qps=3, write_qps=2)
    for n in range(3):
        quota.charge(KEY, NOW, 10.0 + n / 10, action="GetTaskInstance")
    for n in range(2):
        quota.charge(KEY, NOW, 10.0 + n / 10, action="TriggerSchedulerTaskInstance")
    with pytest.raises(ApiError) as read:
        quota.charge(KEY, NOW, 10.5, action="ListTaskInstances")
    with pytest.raises(ApiError) as write:
        quota.charge(KEY, NOW, 10.5, action="StopTaskInstances")
    assert (read.value.http_status, read.value.code) == (429, "Throttling.User") and "3 read QPS" in read.value.message
    assert write.value.code == "Throttling.User" and "2 write QPS" in write.value.message
    assert not read.value.headers  # DataWorks documents no x-acs-retry-after for it
    quota.charge("another/cn-hangzhou", NOW, 10.5, action="GetTask")  # another account (or region): its own
    quota.charge(KEY, NOW, 11.05, action="GetTask")  # a second later: room again
    assert quota.refused == {("Throttling.User", "read"): 1, ("Throttling.User", "write"): 1}


def test_editions() -> None:
    quota = Quota()
    quota.configure(edition="enterprise")
    assert (quota.read_qps, quota.write_qps, quota.qps, quota.daily) == (50, 20, None, None)
    quota.configure(edition="basic")
    assert (quota.qps, quota.daily) == (5, 100)
    for n in range(5):  # Basic: 5 a second, reads and writes together
        quota.charge(KEY, NOW, 1.0, action="GetTask" if n % 2 else "TriggerSchedulerTaskInstance")
    with pytest.raises(ApiError, match="5 QPS"):
        quota.charge(KEY, NOW, 1.0, action="GetTask")
    assert quota.used_today(KEY, NOW) == 5  # the refused call is not counted in the day either
    quota.configure(edition="enterprise", write_qps=2, retry_after_ms=300)
    assert (quota.read_qps, quota.write_qps) == (50, 2)
    quota.charge(KEY, NOW, 1.0, action="StopTaskInstances")
    quota.charge(KEY, NOW, 1.0, action="StopTaskInstances")
    with pytest.raises(ApiError) as err:
        quota.charge(KEY, NOW, 1.0, action="StopTaskInstances")
    assert err.value.headers == {"x-acs-retry-after": "300"}
    with pytest.raises(ValueError, match="edition 'ultimate'"):
        quota.configure(edition="ultimate")


def test_the_daily_cap_answers_throttling_api_risk() -> None:
    quota = Quota()
    quota.configure(edition="enterprise", daily=1)
    quota.charge(KEY, NOW, 0.0, action="GetTask")
    with pytest.raises(ApiError) as err:
        quota.charge(KEY, NOW, 5.0, action="GetTask")
    assert (err.value.code, err.value.http_status) == ("Throttling.Api.Risk", 429)


def test_the_cli_plays_an_edition_and_says_its_limits() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_dataworks.emulator.cli", "--edition", "enterprise", "--write-qps",
         "2", "--daily-quota", "1000"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    assert info["quota"] == {"qps": None, "read_qps": 50.0, "write_qps": 2.0, "daily": 1000,
                             "reset": "00:00:00 Asia/Shanghai"}  # fmt: skip


def test_throttling_is_retried_within_the_time_budget_not_the_retry_limit(
    emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """retry_limit=2 but 6 refusals in a row: the call still goes through (budget 30 s), then a 5xx burst still
    stops at retry_limit."""
    monkeypatch.setattr("airflow_provider_dataworks.hooks.dataworks.RETRY_WAIT_MIN_S", 0.01)
    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", connection_json(emulator, retry_limit=2, qps=50,
                                                                         throttling_budget_s=30))  # fmt: skip
    emulator.inject_fault("GetTask", kind="throttle", times=6, code="Throttling.User", retry_after_ms=20)
    assert DataWorksHook().get_task(RELEASE).id == RELEASE
    assert [c.http_status for c in emulator.calls_of("GetTask")] == [429] * 6 + [200]
    emulator.inject_fault("GetTask", kind="server_error", times=5)
    with pytest.raises(DataWorksApiError):
        DataWorksHook().get_task(RELEASE)
    assert len(emulator.calls_of("GetTask")) == 7 + 2


def test_throttling_past_the_budget_fails_the_call(
    emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", connection_json(emulator, qps=50, throttling_budget_s=1))
    emulator.inject_fault("TriggerSchedulerTaskInstance", kind="throttle", times=100, retry_after_ms=400)
    started = time.monotonic()
    with pytest.raises(DataWorksApiError) as err:
        DataWorksHook().trigger_instance(RELEASE, T)
    assert err.value.code == "Throttling.Api" and 1.0 <= time.monotonic() - started < 5
    assert 2 <= len(emulator.calls_of("TriggerSchedulerTaskInstance")) <= 5
    assert emulator.instance_of(RELEASE, T).releases == 0


def test_a_refusal_halves_the_process_rate_for_that_kind_only_and_successes_bring_it_back(
    emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("airflow_provider_dataworks.hooks.dataworks.RETRY_WAIT_MIN_S", 0.01)
    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", connection_json(emulator, qps=40))
    hook = DataWorksHook()
    emulator.inject_fault("TriggerSchedulerTaskInstance", kind="throttle", times=1, code="Throttling.User")
    hook.trigger_instance(RELEASE, T)
    writes, reads = limiter_of(hook.settings, "StopTaskInstances"), limiter_of(hook.settings, "GetTask")
    assert writes.ceiling == 20  # the account's write QPS (Enterprise) is below qps=40
    assert (writes.refusals, writes.cuts) == (1, 1)
    assert writes.rate == pytest.approx(10 + 20 * ratelimit.INCREASE_PER_CALL)  # halved, then one success
    assert (reads.rate, reads.refusals) == (40, 0)
    for _ in range(30):
        writes.succeeded()
    assert writes.rate == 20
    limiter = ratelimit.RateLimiter(8)
    for _ in range(5):  # a burst of refusals within one interval is one signal
        limiter.throttled()
    assert (limiter.rate, limiter.cuts, limiter.refusals) == (4, 1, 5)
    for _ in range(20):
        limiter.throttled()
        limiter._last_cut = -1e9
    assert limiter.rate == ratelimit.MIN_QPS


def test_many_callers_on_a_small_account_limit_all_go_through(
    emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """12 callers, each with its own limiter as separate processes have (qps 2: 24 calls a second offered), against
    an account's 4 read QPS: every call goes through within the budget, and the refusals are counted (the load test
    does this with Airflow's processes: tests/system/celery/test_e2e_load.py)."""
    from airflow_provider_dataworks.hooks import dataworks as hook_module

    emulator.clock.unfreeze()
    emulator.quota.configure(read_qps=4, write_qps=2)
    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", connection_json(emulator, retry_limit=2))
    own = threading.local()

    def own_limiter(settings: object, action: str) -> ratelimit.RateLimiter:
        if not hasattr(own, "limiter"):
            own.limiter = ratelimit.RateLimiter(2)
        return own.limiter

    monkeypatch.setattr(hook_module, "limiter_of", own_limiter)
    instance_id = emulator.instance_of(RELEASE, T).id
    failures: list[BaseException] = []
    cuts: list[int] = []

    def caller() -> None:
        hook = DataWorksHook()
        try:
            for _ in range(2):
                asyncio.run(hook.aget_instance(instance_id))
        except BaseException as err:
            failures.append(err)
        cuts.append(own.limiter.cuts)

    threads = [threading.Thread(target=caller) for _ in range(12)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    took = time.monotonic() - started
    assert failures == []
    statuses = [c.http_status for c in emulator.calls_of("GetTaskInstance")]
    assert statuses.count(200) == 24 and set(statuses) <= {200, 429}
    assert emulator.quota.refused[("Throttling.User", "read")] == statuses.count(429) > 0
    assert sum(cuts) > 0  # the callers that were refused slowed down
    assert took >= 24 / 4 - 1.5  # the account's 4 a second held (a sliding second: up to one more at the start)
    assert WORKSPACE
