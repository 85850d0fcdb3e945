"""Real Airflow (dag.test()) running the operator, sensor and trigger against the emulator."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import timedelta
from pathlib import Path

import pendulum
import pytest

from airflow_provider_dataworks.domain.api_records import TaskInstanceStatus
from airflow_provider_dataworks.domain.wait_state import WaitState
from airflow_provider_dataworks.emulator import DataWorksEmulator
from airflow_provider_dataworks.triggers.dataworks import DataWorksTaskInstanceTrigger
from airflow_provider_dataworks.triggers.events import TriggerEventStatus, validate_event
from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_3_PLUS
from tests.conftest import (
    LOAD_A,
    RELEASE,
    RUN_DATE,
    WORKSPACE,
    T,
    connection_json,
    dag_source,
    ms,
    run_dag,
    task_states,
)

pytestmark = [
    pytest.mark.usefixtures("airflow_db", "dataworks_conn"),
    pytest.mark.every_airflow,
    pytest.mark.oldest_sdk,
]
EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"


def run_example(name: str, logical_date: pendulum.DateTime = RUN_DATE) -> object:
    return run_dag((EXAMPLES / f"{name}.py").read_text(), name, logical_date)


def triggers(emu: DataWorksEmulator) -> list[str]:
    return [c.params["TriggerTime"] for c in emu.calls_of("TriggerSchedulerTaskInstance")]


def test_example_trigger_only_costs_two_calls_and_pushes_xcoms(emulator: DataWorksEmulator) -> None:
    dr = run_example("example_dataworks_trigger")
    assert task_states(dr) == {"release": "success"}
    assert [c.action for c in emulator.calls] == ["ListTaskInstances", "TriggerSchedulerTaskInstance"]
    assert triggers(emulator) == [str(T)]
    inst = emulator.instance_of(RELEASE, T)
    assert inst.releases == 1
    ti = dr.get_task_instance("release")
    assert ti.xcom_pull(task_ids="release") == inst.id
    assert ti.xcom_pull(task_ids="release", key="scheduled_time") == "2026-11-25 00:30:00 +08:00"
    assert ti.xcom_pull(task_ids="release", key="trigger_time_ms") == T
    url = ti.xcom_pull(task_ids="release", key="dataworks_console_url")
    assert f"instanceId={inst.id}" in url and "cn-hangzhou" in url


def test_rerunning_the_same_date_does_not_trigger_again(emulator: DataWorksEmulator) -> None:
    run_example("example_dataworks_trigger")
    # A second run for the same date (what a cleared task or backfill reprocessing does to DataWorks).
    source = (EXAMPLES / "example_dataworks_trigger.py").read_text().replace('"example_dataworks_trigger"', '"again"')
    dr = run_dag(source, "again", RUN_DATE)
    assert task_states(dr) == {"release": "success"}
    assert triggers(emulator) == [str(T)]
    assert emulator.instance_of(RELEASE, T).releases == 1


def test_example_wait_for_workflow_deferrable(emulator: DataWorksEmulator, ticking: None) -> None:
    dr = run_example("example_dataworks_wait_workflow")
    assert task_states(dr) == {"release_and_wait": "success"}
    assert triggers(emulator) == [str(T)]
    inst = emulator.instance_of(RELEASE, T)
    wf = emulator.backend.workflow_instance(inst.workflow_instance_id)
    assert emulator.backend.workflow_status(wf)[0] == TaskInstanceStatus.SUCCESS
    polls = emulator.calls_of("GetWorkflowInstance")
    assert len(polls) >= 1 and len(emulator.calls) == 2 + len(polls)


def test_example_sensor_on_pushed_instance(emulator: DataWorksEmulator, ticking: None) -> None:
    dr = run_example("example_dataworks_sensor")
    assert task_states(dr) == {"release": "success", "wait_downstream": "success"}
    down = emulator.backend.downstream(emulator.instance_of(RELEASE, T).id)
    assert {d.status for d in down} == {TaskInstanceStatus.SUCCESS}
    assert len(triggers(emulator)) == 1


def test_example_explicit_trigger_time(emulator: DataWorksEmulator) -> None:
    dr = run_example("example_dataworks_explicit_time", pendulum.datetime(2026, 11, 25, 2, 0, tz="UTC"))
    assert task_states(dr) == {"release": "success"}
    assert triggers(emulator) == [str(T)]


@pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="runs without a logical date exist from Airflow 3 on")
def test_run_without_logical_date_fails_with_the_explanation(
    emulator: DataWorksEmulator, capfd: pytest.CaptureFixture
) -> None:
    body = "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001, retries=3)"
    dr = run_dag(dag_source("no_logical_date", body), "no_logical_date", None)
    assert task_states(dr) == {"release": "failed"}  # not up_for_retry: a retry cannot find a date
    assert "Pass trigger_time" in capfd.readouterr().out
    assert emulator.calls == []


def test_sync_wait_for_downstream_raises_naming_the_failed_instance(
    emulator: DataWorksEmulator, ticking: None, capfd: pytest.CaptureFixture
) -> None:
    emulator.backend.tasks[LOAD_A].outcome = TaskInstanceStatus.FAILURE
    body = (
        "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001, wait_for_completion=True, "
        "wait_for='downstream', deferrable=False, poll_interval=1)"
    )
    dr = run_dag(dag_source("sync_downstream", body), "sync_downstream", RUN_DATE)
    assert task_states(dr) == {"release": "failed"}
    out = capfd.readouterr().out
    assert "load_a" in out and "Failure" in out
    assert len(triggers(emulator)) == 1


def test_deferred_workflow_failure_names_the_culprit(
    emulator: DataWorksEmulator, ticking: None, capfd: pytest.CaptureFixture
) -> None:
    emulator.backend.tasks[LOAD_A].outcome = TaskInstanceStatus.FAILURE
    body = (
        "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001, wait_for_completion=True, "
        "wait_for='workflow', deferrable=True, poll_interval=1)"
    )
    dr = run_dag(dag_source("deferred_workflow_fail", body), "deferred_workflow_fail", RUN_DATE)
    assert task_states(dr) == {"release": "failed"}
    assert "load_a) is Failure" in capfd.readouterr().out


def test_wait_timeout_says_dataworks_keeps_running(emulator: DataWorksEmulator, capfd: pytest.CaptureFixture) -> None:
    body = (
        "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001, wait_for_completion=True, "
        "wait_for='workflow', deferrable=True, poll_interval=1, timeout=2)"
    )
    dr = run_dag(dag_source("wait_timeout", body), "wait_timeout", RUN_DATE)  # frozen clock: never finishes
    assert task_states(dr) == {"release": "failed"}
    assert "DataWorks keeps running" in capfd.readouterr().out


@pytest.mark.parametrize(("recurrence", "state", "trigger_calls"), [("Skip", "success", 0), ("Pause", "failed", 0)])
def test_dry_run_succeeds_and_paused_fails_without_a_trigger(
    emulator: DataWorksEmulator, recurrence: str, state: str, trigger_calls: int
) -> None:
    from airflow_provider_dataworks.domain.api_records import TriggerRecurrence

    emulator.instance_of(RELEASE, T).recurrence = TriggerRecurrence(recurrence)
    src = dag_source(
        f"recurrence_{recurrence}", "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001)"
    )
    dr = run_dag(src, f"recurrence_{recurrence}", RUN_DATE)
    assert task_states(dr) == {"release": state}
    assert len(triggers(emulator)) == trigger_calls


def test_project_id_from_get_task_when_unknown(emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", connection_json(emulator, project_id=None))
    src = dag_source("no_project", "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001)")
    dr = run_dag(src, "no_project", RUN_DATE)
    assert task_states(dr) == {"release": "success"}
    assert [c.action for c in emulator.calls] == ["GetTask", "ListTaskInstances", "TriggerSchedulerTaskInstance"]


@pytest.mark.parametrize(("region", "zone", "local", "expected"), [
    ("eu-central-1", "Europe/Berlin", (2026, 3, 29, 3, 0), "2026-03-29 03:00:00 +02:00"),   # no 02:00 that day
    ("eu-central-1", "Europe/Berlin", (2026, 10, 25, 2, 0), "2026-10-25 02:00:00 +01:00"),  # first 02:00 -> kept one
    ("us-west-1", "America/Los_Angeles", (2026, 3, 8, 3, 0), "2026-03-08 03:00:00 -07:00"),
    ("us-west-1", "America/Los_Angeles", (2026, 11, 1, 1, 0), "2026-11-01 01:00:00 -08:00"),
])  # fmt: skip
def test_dst_days_hourly_node(
    monkeypatch: pytest.MonkeyPatch, region: str, zone: str, local: tuple[int, ...], expected: str
) -> None:
    from airflow_provider_dataworks.domain.timing import format_in_zone

    with DataWorksEmulator() as emu:
        ws = emu.add_workspace(3003, region)
        emu.add_task(ws, 900001, "hourly_release", http_trigger=True, cron="0 * * * *")
        emu.clock.freeze(pendulum.datetime(2026, 12, 1, tz="UTC"))
        monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", connection_json(emu, region_id=region, project_id=3003))
        dag_id = f"dst_{region.replace('-', '_')}_{local[1]}"
        src = dag_source(
            dag_id, "DataWorksTriggerOperator(task_id='release', dataworks_task_id=900001)", "0 * * * *", zone
        )
        moment = pendulum.datetime(*local, tz=zone)  # pendulum reads a repeated wall time as its first pass
        dr = run_dag(src, dag_id, moment)
        assert task_states(dr) == {"release": "success"}
        (sent,) = triggers(emu)
        assert format_in_zone(int(sent), zone) == expected
        assert emu.instance_of(900001, int(sent)).releases == 1


def _every_field_set() -> WaitState:
    """A wait state with no field at its default: a field that does not travel shows as a difference."""
    values: dict[str, object] = {}
    for n, f in enumerate(fields(WaitState)):
        kind = str(f.type).split(" | ")[0]  # "int", "float", "bool" or "str" (annotations are strings)
        values[f.name] = {"int": 1000 + n, "float": 0.5 + n, "bool": True, "str": f"{f.name} {n}"}[kind]
    return WaitState(**values)  # type: ignore[arg-type]


def _is_json(value: object) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return isinstance(value, (str, int, float, bool, type(None)))


def test_the_wait_state_travels_whole_through_the_trigger_and_its_event() -> None:
    """Every WaitState field survives the trigger's serialize(), the triggerer's storage, and the event: adding a
    field to WaitState is the one edit a new piece of wait state needs."""
    state = _every_field_set()
    defaults = WaitState(instance_id=1)
    assert all(getattr(state, f.name) != getattr(defaults, f.name) for f in fields(WaitState))
    trigger = DataWorksTaskInstanceTrigger(dataworks_conn_id="dataworks_default", wait=state, initial_delay=30)
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_dataworks.triggers.dataworks.DataWorksTaskInstanceTrigger"
    assert _is_json(kwargs)
    assert DataWorksTaskInstanceTrigger(**kwargs).serialize() == (path, kwargs)
    # The triggerer stores the kwargs the way models/trigger.py of the installed Airflow encodes them:
    # airflow.sdk.serde from 3.2 on (task SDK 1.2, where the module first appears), BaseSerialization before.
    from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_2_PLUS

    if AIRFLOW_V_3_2_PLUS:
        from airflow.sdk.serde import deserialize, serialize
    else:
        from airflow.serialization.serialized_objects import BaseSerialization

        serialize, deserialize = BaseSerialization.serialize, BaseSerialization.deserialize
    again = DataWorksTaskInstanceTrigger(**deserialize(serialize(kwargs)))
    assert again.serialize() == (path, kwargs)
    assert again.state == state
    # The event hands the same state back to execute_complete.
    event = again._event(TriggerEventStatus.TIMEOUT, "the wait timed out")
    assert _is_json(event.payload)
    assert validate_event(event.payload).state == state


def test_sensor_by_task_and_time_sync(emulator: DataWorksEmulator, ticking: None) -> None:
    emulator.backend.trigger(RELEASE, T, "Prod")
    body = (
        "DataWorksTaskInstanceSensor(task_id='wait', dataworks_task_id=700001, wait_for='workflow', "
        "poke_interval=1, timeout=120)"
    )
    dr = run_dag(dag_source("sensor_sync", body), "sensor_sync", RUN_DATE)
    assert task_states(dr) == {"wait": "success"}
    assert emulator.calls[0].action == "ListTaskInstances" and not triggers(emulator)


def test_example_dags_parse_without_the_sdk(tmp_path: Path) -> None:
    import subprocess
    import sys

    for example in EXAMPLES.glob("*.py"):
        shutil.copy(example, tmp_path / example.name)
    code = (
        "import runpy, sys, glob\n"
        f"[runpy.run_path(p) for p in glob.glob({str(tmp_path)!r} + '/*.py')]\n"
        "print([m for m in sys.modules if m.startswith(('alibabacloud', 'darabonba', 'Tea'))])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_templated_arguments_are_left_for_run_time() -> None:
    """Templates pass the parse-time checks (tests/reliability/test_bad_input.py has the bad values and their
    messages)."""
    from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator

    op = DataWorksTriggerOperator(
        task_id="t", dataworks_task_id="{{ var.value.node }}", trigger_time="{{ params.t }}", timezone="{{ params.z }}"
    )
    assert (op.dataworks_task_id, op.trigger_time, op.timezone) == (
        "{{ var.value.node }}",
        "{{ params.t }}",
        "{{ params.z }}",
    )


def test_retry_after_a_failure_past_the_trigger_reattaches_without_triggering_again(
    emulator: DataWorksEmulator, ticking: None
) -> None:
    """Exactly one trigger either way; on Airflow 3.3+ try 2 re-attaches from the task state store without a find."""
    emulator.inject_fault("GetWorkflowInstance", kind="error", http_status=403, code="Forbidden.Access", message="x")
    body = (
        "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001, wait_for_completion=True, "
        "wait_for='workflow', poll_interval=1, retries=1, retry_delay=__import__('datetime').timedelta(0))"
    )
    dr = run_dag(dag_source("durable_retry", body), "durable_retry", RUN_DATE)
    assert task_states(dr) == {"release": "success"}
    actions = [c.action for c in emulator.calls]
    assert actions.count("TriggerSchedulerTaskInstance") == 1
    failed_at = [(c.action, c.http_status) for c in emulator.calls].index(("GetWorkflowInstance", 403))
    assert actions[:failed_at] == ["ListTaskInstances", "TriggerSchedulerTaskInstance"]
    if AIRFLOW_V_3_3_PLUS:
        assert set(actions[failed_at:]) == {"GetWorkflowInstance"}  # try 2 only read the workflow: re-attached
    else:  # no task state store: try 2 finds the instance, sees it past its trigger, and does not trigger
        assert actions[failed_at + 1] == "ListTaskInstances"
    assert emulator.instance_of(RELEASE, T).releases == 1


#: The emulated time each call to the emulator moves the clock by, from the first trigger on (the 24-hour re-send).
STEP_PER_CALL = timedelta(hours=20)


@contextmanager
def clock_moved_per_call(emu: DataWorksEmulator, step: timedelta, after_first: str) -> Iterator[None]:
    """Move the emulated clock by ``step`` once per call the emulator answers, from the first ``after_first`` call
    on: time passes with the wait's progress (its polls), not with the machine's speed. A call answered before
    the clock moved for the one before it only makes the moves catch up; each call still sees the clock at or past
    where the previous one saw it."""
    stop = threading.Event()

    def move() -> None:
        seen = None
        while not stop.wait(0.01):
            calls = emu.calls
            if seen is None:
                first = next((k for k, c in enumerate(calls) if c.action == after_first), None)
                if first is None:
                    continue
                seen = first
            for _ in calls[seen : len(calls)]:
                emu.clock.advance(step)
            seen = len(calls)

    thread = threading.Thread(target=move, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@pytest.mark.parametrize("deferrable", [False, True])
def test_trigger_dropped_after_24h_is_sent_once_more(monkeypatch: pytest.MonkeyPatch, deferrable: bool) -> None:
    """Upstream takes 72 h: our early trigger expires, the instance then waits; the operator re-sends once."""
    with DataWorksEmulator() as emu:
        ws = emu.add_workspace(WORKSPACE, "cn-hangzhou")
        emu.add_task(ws, 1, "very_slow_upstream", cron="0 0 * * *", duration=timedelta(hours=72))
        emu.add_task(ws, RELEASE, "release", http_trigger=True, cron="30 0 * * *", upstream=[1])
        monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", connection_json(emu, retry_limit=3))
        today = pendulum.now("Asia/Shanghai").start_of("day").add(minutes=30)
        if pendulum.now("Asia/Shanghai") < today:  # the emulated clock follows real time: use a past 00:30
            today = today.subtract(days=1)
        body = (
            "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001, wait_for_completion=True, "
            f"wait_for='instance', poll_interval=1, max_poll_interval=1, timeout=120, deferrable={deferrable})"
        )
        dag_id = f"retention_resend_{deferrable}"
        # From the trigger on, each call moves the clock 20 emulated hours (the wait polls every second, no back-off):
        # it sees the trigger kept while upstream runs (20 h), dropped after 24 h (40 h, 60 h), and the instance
        # waiting again once upstream is done (80 h); a clock moved before the trigger could finish upstream first.
        with clock_moved_per_call(emu, STEP_PER_CALL, after_first="TriggerSchedulerTaskInstance"):
            dr = run_dag(dag_source(dag_id, body), dag_id, today)
        assert task_states(dr) == {"release": "success"}
        inst = emu.instance_of(RELEASE, ms(today))
        assert len(emu.calls_of("TriggerSchedulerTaskInstance")) == 2
        assert (inst.dropped_triggers, inst.releases) == (1, 1)


def test_instance_already_failed_fails_without_a_trigger(
    emulator: DataWorksEmulator, capfd: pytest.CaptureFixture
) -> None:
    emulator.set_instance_status(emulator.instance_of(RELEASE, T).id, "Failure")
    src = dag_source("already_failed", "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001)")
    dr = run_dag(src, "already_failed", RUN_DATE)
    assert task_states(dr) == {"release": "failed"}
    assert not triggers(emulator) and "rerun it in DataWorks" in capfd.readouterr().out


@pytest.mark.parametrize("deferrable", [False, True])
def test_sensor_raises_on_failure(emulator: DataWorksEmulator, ticking: None, deferrable: bool) -> None:
    emulator.backend.tasks[LOAD_A].outcome = TaskInstanceStatus.FAILURE
    emulator.backend.trigger(RELEASE, T, "Prod")
    inst_id = emulator.instance_of(RELEASE, T).id
    body = (
        f"DataWorksTaskInstanceSensor(task_id='wait', instance_id={inst_id}, wait_for='downstream', poke_interval=1, "
        f"timeout=60, deferrable={deferrable})"
    )
    dag_id = f"sensor_failure_{deferrable}"
    dr = run_dag(dag_source(dag_id, body), dag_id, RUN_DATE)
    assert task_states(dr) == {"wait": "failed"}


@pytest.mark.parametrize("deferrable", [False, True])
def test_sensor_timeout_holds_in_both_modes(
    emulator: DataWorksEmulator, deferrable: bool, capfd: pytest.CaptureFixture
) -> None:
    inst_id = emulator.instance_of(RELEASE, T).id  # frozen clock: it waits for its trigger forever
    body = (
        f"DataWorksTaskInstanceSensor(task_id='wait', instance_id={inst_id}, poke_interval=1, timeout=3, "
        f"deferrable={deferrable})"
    )
    dag_id = f"sensor_timeout_{deferrable}"
    dr = run_dag(dag_source(dag_id, body), dag_id, RUN_DATE)
    assert task_states(dr) == {"wait": "failed"}
    assert 1 <= len(emulator.calls_of("GetTaskInstance")) <= 5  # about one poke a second, never faster
    assert "timed out" in capfd.readouterr().out.lower()


def test_sync_wait_timeout_says_dataworks_keeps_running(
    emulator: DataWorksEmulator, capfd: pytest.CaptureFixture
) -> None:
    body = (
        "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001, wait_for_completion=True, "
        "wait_for='downstream', deferrable=False, poll_interval=1, timeout=2)"
    )
    dr = run_dag(dag_source("sync_timeout", body), "sync_timeout", RUN_DATE)
    assert task_states(dr) == {"release": "failed"}
    assert "DataWorks keeps running" in capfd.readouterr().out
    assert len(emulator.calls_of("ListDownstreamTaskInstances")) <= 2
