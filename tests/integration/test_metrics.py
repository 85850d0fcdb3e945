"""Metrics through Airflow's ``Stats`` (hooks/metrics.py): what a deployment's StatsD receives from real runs.

``Stats`` gets Airflow's own StatsD logger (``SafeStatsdLogger``: name checks, InfluxDB-style tags, as
``[metrics] statsd_on`` + ``statsd_influxdb_enabled`` build it) around a client that keeps what it would send (the
``statsd`` package is not a dependency here), on Airflow 2.11 (``airflow.stats``) and 3.x (the Task SDK's
``Stats``). The provider's own paths then run against the emulator: a trigger and a deferred or sync wait through
``dag.test()``, throttled and failed calls through the hook, a quota deferral, a trigger sleeping through the quota
and the asset watcher's events.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_dataworks.domain.api_records import TaskInstanceStatus
from airflow_provider_dataworks.emulator import DataWorksEmulator
from airflow_provider_dataworks.exceptions import DataWorksApiError
from airflow_provider_dataworks.hooks import metrics
from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_0_PLUS
from tests.conftest import LOAD_A, RELEASE, RUN_DATE, T, connection_json, dag_source, run_dag, task_states

#: Every tag a metric may carry: none names an instance, a key or a secret.
TAG_KEYS = {"action", "outcome", "conn_id", "reason", "by", "wait_for", "mode", "workflow_instance_type"}


@dataclass(frozen=True)
class Sent:
    """One metric as the StatsD client got it: its kind (c, ms), the raw stat (name + InfluxDB tags), the value."""

    kind: str
    stat: str
    value: float

    @property
    def name(self) -> str:
        return self.stat.split(",")[0]

    @property
    def tags(self) -> dict[str, str]:
        return dict(pair.split("=", 1) for pair in self.stat.split(",")[1:])


class Client:
    """Stands in for ``statsd.StatsClient``: what it would put on the wire, kept."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.broken = False

    def incr(self, stat: str, count: int = 1, rate: float = 1) -> None:
        self._send("c", stat, count)

    def decr(self, stat: str, count: int = 1, rate: float = 1) -> None:
        self._send("c", stat, -count)

    def gauge(self, stat: str, value: float, rate: float = 1, delta: bool = False) -> None:
        self._send("g", stat, value)

    def timing(self, stat: str, delta: Any, rate: float = 1) -> None:
        ms = delta.total_seconds() * 1000.0 if isinstance(delta, timedelta) else float(delta)  # as statsd does
        self._send("ms", stat, ms)

    def timer(self, stat: str, rate: float = 1) -> Any:
        return _Timer(self, stat)

    def _send(self, kind: str, stat: str, value: float) -> None:
        if self.broken and stat.startswith("dataworks."):  # ours only: Airflow's own metrics are not the test's
            raise OSError("StatsD is down")
        self.sent.append(Sent(kind, stat, value))

    def ours(self, name: str | None = None) -> list[Sent]:
        return [s for s in self.sent if s.name.startswith("dataworks.") and name in (None, s.name)]

    def count(self, name: str, *keys: str) -> Counter[tuple[str, ...]]:
        """``name``'s counts by the values of ``keys``."""
        found: Counter[tuple[str, ...]] = Counter()
        for s in self.ours(name):
            found[tuple(s.tags.get(k, "") for k in keys)] += int(s.value)
        return found


class _Timer:
    """``statsd.Timer``, as Airflow's own timers (``Stats.timer``) use it."""

    def __init__(self, client: Client, stat: str) -> None:
        self.client, self.stat, self.ms, self._start = client, stat, 0.0, 0.0

    def start(self) -> _Timer:
        self._start = time.perf_counter()
        return self

    def stop(self, send: bool = True) -> _Timer:
        self.ms = (time.perf_counter() - self._start) * 1000.0
        if send:
            self.client.timing(self.stat, self.ms)
        return self

    def send(self) -> None:
        self.client.timing(self.stat, self.ms)

    def __enter__(self) -> _Timer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _statsd_logger(client: Client) -> Any:
    if AIRFLOW_V_3_0_PLUS:
        from airflow.sdk._shared.observability.metrics.statsd_logger import SafeStatsdLogger

        return SafeStatsdLogger(client, influxdb_tags_enabled=True, statsd_influxdb_enabled=True)  # type: ignore[arg-type]
    from airflow.metrics.statsd_logger import SafeStatsdLogger  # type: ignore[no-redef]

    return SafeStatsdLogger(client, influxdb_tags_enabled=True)  # type: ignore[arg-type]


@pytest.fixture
def statsd(monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    """Airflow's ``Stats`` sends through Airflow's StatsD logger to a :class:`Client` for the test."""
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED", "True")
    client = Client()
    logger = _statsd_logger(client)
    if AIRFLOW_V_3_0_PLUS:
        from airflow.sdk._shared.observability.metrics import stats as backend

        monkeypatch.setattr(backend, "_factory", lambda: logger)
        monkeypatch.setattr(backend, "_backend", logger)
        monkeypatch.setattr(backend, "_export_legacy_names", False)
    else:
        from airflow.stats import Stats

        monkeypatch.setattr(Stats, "instance", logger)
    yield client
    for sent in client.ours():  # every test: known names and tags only
        assert sent.name in metrics.NAMES and set(sent.tags) <= TAG_KEYS, sent


def wait_tags(wait_for: str, mode: str, outcome: str) -> dict[str, str]:
    return {"wait_for": wait_for, "mode": mode, "outcome": outcome, "conn_id": "dataworks_default"}


def no_secret_in(client: Client, emu: DataWorksEmulator) -> None:
    for sent in client.sent:
        assert emu.access_key_id not in sent.stat and emu.access_key_secret not in sent.stat, sent


def test_stats_is_airflows_own() -> None:
    from airflow_provider_dataworks.version_compat import Stats

    if AIRFLOW_V_3_0_PLUS:
        from airflow.sdk.observability.stats import Stats as SdkStats

        assert Stats is SdkStats
    else:
        from airflow.stats import Stats as CoreStats

        assert Stats is CoreStats


# --------------------------------------------------------------------------------------------- dag.test() runs
@pytest.mark.usefixtures("airflow_db", "dataworks_conn", "ticking")
def test_a_trigger_and_deferred_wait_count_calls_by_action_a_throttle_a_retry_and_the_wait(
    emulator: DataWorksEmulator, statsd: Client
) -> None:
    emulator.inject_fault("TriggerSchedulerTaskInstance", kind="throttle", times=1, retry_after_ms=50)
    body = (
        "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001, wait_for_completion=True, "
        "wait_for='workflow', deferrable=True, poll_interval=1)"
    )
    dr = run_dag(dag_source("metrics_deferred", body), "metrics_deferred", RUN_DATE)
    assert task_states(dr) == {"release": "success"}

    by_action = Counter(c.action for c in emulator.calls if c.error_code is None)
    calls = statsd.count(metrics.API_CALLS, "action", "outcome", "conn_id")
    assert calls == Counter({(a, "success", "dataworks_default"): n for a, n in by_action.items()})
    assert {"ListTaskInstances", "TriggerSchedulerTaskInstance", "GetWorkflowInstance"} <= set(by_action)
    assert statsd.count(metrics.API_THROTTLED, "action") == Counter({("TriggerSchedulerTaskInstance",): 1})
    assert statsd.count(metrics.API_RETRIES, "action", "reason") == Counter(
        {("TriggerSchedulerTaskInstance", "throttled"): 1}
    )
    durations = statsd.ours(metrics.API_DURATION)
    assert len(durations) == sum(by_action.values()) and all(d.kind == "ms" and d.value >= 0 for d in durations)
    [wait] = statsd.ours(metrics.WAIT_DURATION)
    assert wait.kind == "ms" and wait.value > 0
    assert wait.tags == wait_tags("workflow", "deferred", "success")
    no_secret_in(statsd, emulator)


@pytest.mark.usefixtures("airflow_db", "dataworks_conn", "ticking")
def test_a_sync_wait_that_fails_records_its_duration_as_failure(emulator: DataWorksEmulator, statsd: Client) -> None:
    emulator.backend.tasks[LOAD_A].outcome = TaskInstanceStatus.FAILURE
    body = (
        "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001, wait_for_completion=True, "
        "wait_for='downstream', deferrable=False, poll_interval=1)"
    )
    dr = run_dag(dag_source("metrics_sync", body), "metrics_sync", RUN_DATE)
    assert task_states(dr) == {"release": "failed"}
    [wait] = statsd.ours(metrics.WAIT_DURATION)
    assert wait.tags == wait_tags("downstream", "sync", "failure")
    assert wait.value > 0
    no_secret_in(statsd, emulator)


@pytest.mark.usefixtures("airflow_db", "dataworks_conn", "ticking")
def test_a_sensor_in_poke_mode_records_its_wait(emulator: DataWorksEmulator, statsd: Client) -> None:
    emulator.backend.trigger(RELEASE, T, "Prod")
    body = (
        "DataWorksTaskInstanceSensor(task_id='wait', dataworks_task_id=700001, wait_for='workflow', "
        "poke_interval=1, timeout=120)"
    )
    dr = run_dag(dag_source("metrics_sensor", body), "metrics_sensor", RUN_DATE)
    assert task_states(dr) == {"wait": "success"}
    [wait] = statsd.ours(metrics.WAIT_DURATION)
    assert wait.tags == wait_tags("workflow", "sync", "success")


@pytest.mark.usefixtures("airflow_db", "dataworks_conn")
def test_a_quota_deferral_is_counted_and_the_refused_call_too(
    emulator: DataWorksEmulator, statsd: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trigger call meets the daily quota: the task defers to the reset (brought to now: the real trigger, its
    event and the resumed task otherwise run as they do), then finds the instance again and triggers it."""
    from airflow_provider_dataworks.triggers.quota_reset import DataWorksQuotaResetTrigger

    run = DataWorksQuotaResetTrigger.run

    def reset_now(self: DataWorksQuotaResetTrigger) -> Any:
        self.resume_at = min(self.resume_at, time.time())
        return run(self)

    monkeypatch.setattr(DataWorksQuotaResetTrigger, "run", reset_now)
    emulator.inject_fault("TriggerSchedulerTaskInstance", kind="throttle", code="Throttling.Api.Risk", times=1)
    body = "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001)"
    dr = run_dag(dag_source("metrics_quota", body), "metrics_quota", RUN_DATE)
    assert task_states(dr) == {"release": "success"}
    assert statsd.count(metrics.QUOTA_DEFERRALS, "outcome", "conn_id") == Counter(
        {("deferred", "dataworks_default"): 1}
    )
    calls = statsd.count(metrics.API_CALLS, "action", "outcome")
    assert calls == Counter(
        {
            ("ListTaskInstances", "success"): 2,
            ("TriggerSchedulerTaskInstance", "daily_quota"): 1,
            ("TriggerSchedulerTaskInstance", "success"): 1,
        }
    )
    assert not statsd.ours(metrics.API_THROTTLED) and not statsd.ours(metrics.API_RETRIES)  # the quota: no retry


@pytest.mark.usefixtures("airflow_db")
def test_a_quota_deferral_given_up_is_counted(
    emulator: DataWorksEmulator, statsd: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    reset = f"{datetime.now(timezone.utc) + timedelta(hours=1):%H:%M:%S} UTC"
    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", connection_json(emulator, daily_quota_reset=reset))
    emulator.inject_fault("TriggerSchedulerTaskInstance", kind="throttle", code="Throttling.Api.Risk", times=1)
    body = (
        "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001, "
        "execution_timeout=__import__('datetime').timedelta(minutes=10))"
    )
    dr = run_dag(dag_source("metrics_quota_gave_up", body), "metrics_quota_gave_up", RUN_DATE)
    assert task_states(dr) == {"release": "failed"}
    assert statsd.count(metrics.QUOTA_DEFERRALS, "outcome") == Counter({("gave_up",): 1})


# --------------------------------------------------------------------------------------------- the hook
@pytest.mark.usefixtures("dataworks_conn")
def test_sync_and_async_calls_count_throttles_retries_and_error_classes(
    emulator: DataWorksEmulator, statsd: Client
) -> None:
    from airflow_provider_dataworks.hooks.dataworks import DataWorksHook

    hook = DataWorksHook()
    emulator.inject_fault("GetTask", kind="throttle", times=1, retry_after_ms=50)
    emulator.inject_fault("GetTask", kind="server_error", times=1)
    assert hook.get_task(RELEASE).id == RELEASE
    emulator.inject_fault("GetTask", kind="throttle", times=1, retry_after_ms=50)
    assert asyncio.run(hook.aget_task(RELEASE)).id == RELEASE
    emulator.inject_fault("GetTask", kind="error", http_status=403, code="Forbidden.Access", times=1)
    with pytest.raises(DataWorksApiError):
        hook.get_task(RELEASE)

    assert statsd.count(metrics.API_CALLS, "action", "outcome") == Counter(
        {("GetTask", "success"): 2, ("GetTask", "client_error"): 1}
    )
    assert statsd.count(metrics.API_THROTTLED, "action", "conn_id") == Counter({("GetTask", "dataworks_default"): 2})
    assert statsd.count(metrics.API_RETRIES, "reason") == Counter({("throttled",): 2, ("transient",): 1})
    assert len(emulator.calls_of("GetTask")) == 6  # 3 calls, 3 retries: attempts = calls + retries
    no_secret_in(statsd, emulator)


@pytest.mark.usefixtures("dataworks_conn")
def test_a_broken_statsd_never_fails_a_call(emulator: DataWorksEmulator, statsd: Client) -> None:
    from airflow_provider_dataworks.hooks.dataworks import DataWorksHook

    statsd.broken = True
    emulator.inject_fault("GetTask", kind="throttle", times=1, retry_after_ms=50)
    assert DataWorksHook().get_task(RELEASE).id == RELEASE
    with metrics.sync_wait("instance", "dataworks_default"):
        pass
    assert statsd.sent == []


def test_a_broken_stats_object_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever Airflow's ``Stats`` does (a bad OTel exporter, a custom client), the call site goes on."""
    from airflow_provider_dataworks import version_compat

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("exporter down")

    monkeypatch.setattr(version_compat.Stats, "incr", boom, raising=False)
    monkeypatch.setattr(version_compat.Stats, "timing", boom, raising=False)
    metrics.incr(metrics.API_CALLS, action="GetTask")
    metrics.timing(metrics.WAIT_DURATION, 1.0, mode="sync")
    with metrics.api_call("GetTask", "c"):
        pass


@pytest.mark.parametrize(
    ("err", "outcome"),
    [
        (None, "success"),
        (DataWorksApiError("A", "Throttling.Api", "qps", 429), "throttled"),
        (DataWorksApiError("A", "Throttling.Api.Risk", "quota", 429), "daily_quota"),
        (DataWorksApiError("A", "InternalError.System", "x", 500), "server_error"),
        (DataWorksApiError("A", "NoAnswer", "x"), "no_answer"),
        (DataWorksApiError("A", "SignatureDoesNotMatch", "x", 400), "client_error"),
        (DataWorksApiError("AssumeRole", "NoPermission", "x", 403, service="STS"), "credentials"),
        (ValueError("x"), "other"),
    ],
)
def test_call_outcome_classes(err: BaseException | None, outcome: str) -> None:
    assert metrics.api_outcome(err) == outcome


def test_tag_values_are_made_safe_for_every_backend() -> None:
    assert metrics._tags({"conn_id": "my conn,x=1", "none": None, "long": "x" * 100}) == {
        "conn_id": "my_conn_x_1",
        "long": "x" * 64,
    }


# --------------------------------------------------------------------------------------------- the triggerer
@pytest.mark.usefixtures("dataworks_conn")
async def test_a_deferred_wait_sleeping_through_the_quota_is_counted(
    emulator: DataWorksEmulator, statsd: Client
) -> None:
    from airflow_provider_dataworks.domain.wait_state import WaitState
    from airflow_provider_dataworks.triggers.dataworks import DataWorksTaskInstanceTrigger

    inst = emulator.instance_of(RELEASE, T)
    emulator.inject_fault(None, kind="throttle", code="Throttling.Api.Risk", times=1)
    trigger = DataWorksTaskInstanceTrigger(
        dataworks_conn_id="dataworks_default", wait=WaitState(instance_id=inst.id, poll_interval=1.0), shared=False
    )
    running = asyncio.create_task(anext(aiter(trigger.run())))
    try:
        deadline = time.monotonic() + 30
        while not statsd.ours(metrics.QUOTA_SLEEPS):
            assert time.monotonic() < deadline and not running.done()
            await asyncio.sleep(0.05)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert statsd.count(metrics.QUOTA_SLEEPS, "by", "conn_id") == Counter({("wait", "dataworks_default"): 1})
    assert not statsd.ours(metrics.WAIT_DURATION)  # the wait did not end


@pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="asset watchers are Airflow 3's (BaseEventTrigger)")
@pytest.mark.usefixtures("dataworks_conn")
async def test_the_asset_watcher_counts_each_event_it_fires(
    emulator: DataWorksEmulator, statsd: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.integration.test_asset_watcher import Cycles, Running, cycles, follow_clock, watcher

    follow_clock(emulator, monkeypatch)
    counted = Cycles(monkeypatch)
    today = emulator.instance_of(RELEASE, T)
    run = Running(watcher())
    try:
        await cycles(run, 2, counted)
        emulator.clock.advance(timedelta(minutes=1))
        emulator.set_instance_status(today.id, "Success")
        emulator.add_instance_run(RELEASE, T, "SupplementData", status="Success")  # not watched: no event
        await run.until(lambda: len(run.events[0]) >= 1)
        await cycles(run, 2, counted)
    finally:
        await run.stop()
    assert len(run.events[0]) == 1
    assert statsd.count(metrics.WATCHER_EVENTS, "workflow_instance_type", "conn_id") == Counter(
        {("Normal", "dataworks_default"): 1}
    )
    assert statsd.count(metrics.API_CALLS, "action", "outcome")[("ListTaskInstances", "success")] == len(
        emulator.calls_of("ListTaskInstances")
    )
    no_secret_in(statsd, emulator)
