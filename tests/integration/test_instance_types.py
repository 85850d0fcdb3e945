"""Only the scheduled instance is a run's, and every official recurrence and rerun mode has its outcome: dag.test().

The emulator plays what real DataWorks has beside a node's scheduled (``Normal``) instance: a data backfill, a
manual run, a smoke test or a triggered workflow of the same day, with the same TaskId and TriggerTime; weekly nodes'
``SkipCycle`` days; scheduling calendars; ``RerunMode``. The operator and the sensor run through ``dag.test()`` on
Airflow 3.3 and 2.11 (this module runs in both virtualenvs), the SDK over loopback HTTP; the calls are counted. The
same decisions as pure logic are in tests/unit/domain/test_instance_choice.py.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pendulum
import pytest

from airflow_provider_dataworks.emulator import DataWorksEmulator
from tests.conftest import LOAD_A, LOAD_B, RELEASE, RUN_DATE, UPSTREAM, WORKSPACE, T, dag_source, run_dag
from tests.conftest import task_states as states

# The matrix rows (3.0-3.2) run only the messages a task shows (Airflow 3.0 prints a task's error wrapped): which
# instance a run names and what each value leads to is the provider's logic (tests/unit), not Airflow's.
pytestmark = [pytest.mark.usefixtures("airflow_db", "dataworks_conn"), pytest.mark.oldest_sdk]

OTHER_TYPES = ["SupplementData", "SmokeTest", "Manual", "ManualWorkflow", "ManualFlow", "TriggerWorkflow"]
RETRIES = "retries=3, retry_delay=__import__('datetime').timedelta(0)"


def actions(emu: DataWorksEmulator) -> list[str]:
    return [c.action for c in emu.calls]


def trigger_only(dag_id: str, extra: str = "") -> dict[str, str]:
    body = f"DataWorksTriggerOperator(task_id='release', dataworks_task_id={RELEASE}, {RETRIES}{extra})"
    return states(run_dag(dag_source(dag_id, body), dag_id, RUN_DATE))


# ---------------------------------------------------------------------------- other runs of the node and the day
@pytest.mark.parametrize("kind", OTHER_TYPES)
def test_another_run_of_the_nodes_day_never_changes_which_instance_a_run_releases(
    emulator: DataWorksEmulator, kind: str
) -> None:
    """A DataWorks backfill (or manual run, smoke test, ...) of the node's day has already succeeded, with the same
    TaskId and TriggerTime: the run still releases the scheduled instance, with the same 2 calls."""
    other = emulator.add_instance_run(RELEASE, T, kind, status="Success")
    scheduled = emulator.instance_of(RELEASE, T)
    assert other.id != scheduled.id and other.trigger_time == scheduled.trigger_time

    assert trigger_only(f"other_run_{kind.lower()}") == {"release": "success"}
    assert actions(emulator) == ["ListTaskInstances", "TriggerSchedulerTaskInstance"]
    [listing] = emulator.calls_of("ListTaskInstances")
    assert listing.params["WorkflowInstanceType"] == "Normal"
    assert scheduled.accepted_triggers == 1 and scheduled.status.value != "WaitTrigger"
    assert other.accepted_triggers == 0


def test_the_sensor_by_task_and_time_waits_for_the_scheduled_instance_not_a_backfill(
    emulator: DataWorksEmulator, capfd: pytest.CaptureFixture
) -> None:
    """The backfill of the day succeeded; the scheduled instance failed: the sensor fails, naming the scheduled one."""
    emulator.add_instance_run(RELEASE, T, "SupplementData", status="Success")
    scheduled = emulator.instance_of(RELEASE, T)
    emulator.set_instance_status(scheduled.id, "Failure")
    body = f"DataWorksTaskInstanceSensor(task_id='wait', dataworks_task_id={RELEASE}, poke_interval=1, timeout=60)"
    assert states(run_dag(dag_source("sensor_not_backfill", body), "sensor_not_backfill", RUN_DATE)) == {
        "wait": "failed"
    }
    assert f"instance {scheduled.id} (release) ended in Failure" in capfd.readouterr().out
    assert actions(emulator) == ["ListTaskInstances", "GetTaskInstance"]


# -------------------------------------------------------------------------------------------- recurrence values
def set_recurrence(emu: DataWorksEmulator, value: str) -> None:
    """DataWorks answers ``value`` for the run's scheduled instance (and keeps it waiting, so only the recurrence
    can stop a trigger)."""
    from airflow_provider_dataworks.emulator.backend.vocab import TriggerRecurrence

    emu.instance_of(RELEASE, T).recurrence = TriggerRecurrence(value)


DRY_RUNS = ["Skip", "SkipCycle", "SkipCalendar", "SkipUnchoose", "ConditionUnchoose", "RealtimeDeprecated"]


@pytest.mark.parametrize("value", DRY_RUNS)
def test_a_dry_run_succeeds_with_a_warning_and_no_trigger_call(
    emulator: DataWorksEmulator, value: str, capfd: pytest.CaptureFixture
) -> None:
    set_recurrence(emulator, value)
    assert trigger_only(f"dry_run_{value.lower()}") == {"release": "success"}
    assert actions(emulator) == ["ListTaskInstances"]
    assert f"is a dry run (TriggerRecurrence {value}" in capfd.readouterr().out


@pytest.mark.parametrize(("value", "says"), [("Pause", "Resume (unfreeze)"), ("PauseCalendar", "scheduling calendar")])
def test_a_paused_instance_fails_without_retry_saying_which_pause(
    emulator: DataWorksEmulator, value: str, says: str, capfd: pytest.CaptureFixture
) -> None:
    set_recurrence(emulator, value)
    assert trigger_only(f"paused_{value.lower()}") == {"release": "failed"}  # not up_for_retry
    assert actions(emulator) == ["ListTaskInstances"]
    out = capfd.readouterr().out
    assert f"TriggerRecurrence {value}" in out and says in out and "not retried" in out


def test_a_manual_instance_fails_without_retry_naming_the_mismatch(
    emulator: DataWorksEmulator, capfd: pytest.CaptureFixture
) -> None:
    set_recurrence(emulator, "Manual")
    assert trigger_only("manual_recurrence") == {"release": "failed"}
    assert actions(emulator) == ["ListTaskInstances"]
    assert "not an instance of the node's daily schedule" in capfd.readouterr().out


def test_an_unknown_recurrence_fails_without_retry_naming_field_and_value(
    emulator: DataWorksEmulator, capfd: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API grows: a value this provider does not know is named, not a bare ValueError."""
    import sys

    from airflow_provider_dataworks.emulator.api import render

    rendered = render.render_instance

    def newer_dataworks(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return {**rendered(*args, **kwargs), "TriggerRecurrence": "SkipHoliday"}

    for module in list(sys.modules.values()):  # every emulator module that renders instances
        emulator_module = module and module.__name__.startswith("airflow_provider_dataworks.emulator")
        if emulator_module and getattr(module, "render_instance", None) is rendered:
            monkeypatch.setattr(module, "render_instance", newer_dataworks)
    assert trigger_only("unknown_recurrence") == {"release": "failed"}
    assert "TriggerRecurrence='SkipHoliday'" in capfd.readouterr().out
    assert "TriggerSchedulerTaskInstance" not in actions(emulator)


# ------------------------------------------------------------------------- weekly nodes and scheduling calendars
WEEKLY = 700010  # an HTTP trigger node that runs Mondays 00:30: every other day's instance is a SkipCycle dry run


@pytest.mark.parametrize(("day", "triggered"), [(date(2026, 11, 23), True), (date(2026, 11, 25), False)])
def test_a_weekly_node_is_released_on_its_day_and_a_skip_cycle_day_succeeds_without_a_trigger(
    emulator: DataWorksEmulator, day: date, triggered: bool
) -> None:
    emulator.add_task(WORKSPACE, WEEKLY, "weekly_release", http_trigger=True, cron="30 0 * * 1", upstream=[UPSTREAM])
    emulator.clock.freeze(pendulum.datetime(day.year, day.month, day.day, 0, 31, tz="Asia/Shanghai"))
    run = pendulum.datetime(day.year, day.month, day.day, 0, 30, tz="Asia/Shanghai")
    inst = emulator.instance_of(WEEKLY, run)
    assert inst.recurrence.value == ("Normal" if triggered else "SkipCycle")
    body = f"DataWorksTriggerOperator(task_id='release', dataworks_task_id={WEEKLY})"
    dag_id = f"weekly_{day.isoformat().replace('-', '_')}"
    assert states(run_dag(dag_source(dag_id, body), dag_id, run)) == {"release": "success"}
    assert emulator.calls_of("TriggerSchedulerTaskInstance") == ([emulator.calls[-1]] if triggered else [])
    assert inst.accepted_triggers == (1 if triggered else 0)


CALENDAR_NODE = 700011


@pytest.mark.parametrize(("kind", "state"), [("skip", "success"), ("pause", "failed")])
def test_a_scheduling_calendars_day_is_a_dry_run_or_a_pause(emulator: DataWorksEmulator, kind: str, state: str) -> None:
    emulator.add_task(
        WORKSPACE,
        CALENDAR_NODE,
        "calendar_release",
        http_trigger=True,
        cron="30 0 * * *",
        upstream=[UPSTREAM],
        calendar={kind: [date(2026, 11, 25)]},
    )
    inst = emulator.instance_of(CALENDAR_NODE, T)
    assert inst.recurrence.value == {"skip": "SkipCalendar", "pause": "PauseCalendar"}[kind]
    body = f"DataWorksTriggerOperator(task_id='release', dataworks_task_id={CALENDAR_NODE}, {RETRIES})"
    assert states(run_dag(dag_source(f"calendar_{kind}", body), f"calendar_{kind}", RUN_DATE)) == {"release": state}
    assert actions(emulator) == ["ListTaskInstances"]


# ------------------------------------------------------------------------------------------ rerun mode and config
def repair_body(extra: str = "") -> str:
    return (
        f"DataWorksTriggerOperator(task_id='release', dataworks_task_id={RELEASE}, wait_for_completion=True, "
        f"wait_for='downstream', deferrable=False, poll_interval=1, rerun_failed=True, {RETRIES}{extra})"
    )


def failed_downstream(emu: DataWorksEmulator, rerun_mode: str) -> None:
    """The run's instance released 10 minutes ago by an earlier try; load_a failed; its node's RerunMode set."""
    emu.backend.tasks[LOAD_A].failing_runs = 1
    emu.backend.tasks[LOAD_A].rerun_mode = rerun_mode
    emu.backend.trigger(RELEASE, T, "Prod")
    emu.clock.advance(timedelta(minutes=10))


def test_rerun_failed_says_why_it_cannot_rerun_an_all_denied_node_and_sends_nothing(
    emulator: DataWorksEmulator, capfd: pytest.CaptureFixture
) -> None:
    from airflow_provider_dataworks.emulator.backend.vocab import RerunMode

    failed_downstream(emulator, RerunMode.ALL_DENIED)
    assert emulator.instance_of(LOAD_A, T).status.value == "Failure"
    assert states(run_dag(dag_source("repair_denied", repair_body()), "repair_denied", RUN_DATE)) == {
        "release": "failed"
    }
    assert "RerunTaskInstances" not in actions(emulator) and "TriggerSchedulerTaskInstance" not in actions(emulator)
    out = capfd.readouterr().out
    assert "RerunMode is AllDenied" in out and "not retried" in out


def sdk_has_use_latest_config() -> bool:
    import inspect

    from alibabacloud_dataworks_public20240518 import models

    return "use_latest_config" in inspect.signature(models.RerunTaskInstancesRequest).parameters


@pytest.mark.usefixtures("ticking")
@pytest.mark.parametrize("latest", [False, True])
def test_a_repair_sends_use_latest_config_only_when_chosen(
    emulator: DataWorksEmulator, latest: bool, capfd: pytest.CaptureFixture
) -> None:
    """On the oldest SDK (7.2.0, no UseLatestConfig) the choice fails the task at its start, before any call."""
    from airflow_provider_dataworks.emulator.backend.vocab import RerunMode

    failed_downstream(emulator, RerunMode.FAILURE_ALLOWED)
    extra = ", rerun_use_latest_config=True" if latest else ""
    dag_id = f"repair_latest_{latest}".lower()
    final = states(run_dag(dag_source(dag_id, repair_body(extra)), dag_id, RUN_DATE))
    if latest and not sdk_has_use_latest_config():
        assert final == {"release": "failed"} and emulator.calls == []
        assert "needs alibabacloud_dataworks_public20240518 8.8.3 or newer" in capfd.readouterr().out
        return
    assert final == {"release": "success"}
    [rerun] = emulator.calls_of("RerunTaskInstances")
    assert json.loads(rerun.params["Ids"]) == [emulator.instance_of(LOAD_A, T).id]
    sent = rerun.params.get("UseLatestConfig")  # the SDK sends a bool as Python writes it ("True")
    assert (sent.lower() if sent else None) == ("true" if latest else None)
    assert emulator.instance_of(LOAD_B, T).status.value == "Success"


def test_rerun_use_latest_config_without_rerun_failed_is_refused_at_parse_time() -> None:
    from airflow_provider_dataworks.exceptions import DataWorksConfigError
    from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator

    with pytest.raises(DataWorksConfigError, match=r"rerun_use_latest_config=True .* set rerun_failed=True"):
        DataWorksTriggerOperator(task_id="t", dataworks_task_id=RELEASE, rerun_use_latest_config=True)


# ------------------------------------------------------------------------------ a time that names no instance
@pytest.mark.every_airflow
def test_a_utc_dag_against_the_shanghai_node_fails_naming_the_dags_zone_as_the_fix(
    emulator: DataWorksEmulator, capfd: pytest.CaptureFixture
) -> None:
    """The DAG's start date is in UTC: it fires at 00:30 UTC = 08:30 Shanghai, eight hours after the node's time."""
    body = f"DataWorksTriggerOperator(task_id='release', dataworks_task_id={RELEASE}, {RETRIES})"
    source = dag_source("utc_dag", body, tz="UTC")
    run = pendulum.datetime(2026, 11, 25, 0, 30, tz="UTC")
    assert states(run_dag(source, "utc_dag", run)) == {"release": "failed"}  # not retried
    out = " ".join(capfd.readouterr().out.split())  # Airflow 3.0 prints the error wrapped at 80 columns
    assert "the DAG fires at 00:30 in UTC, the node at 00:30 in Asia/Shanghai" in out
    assert 'tz="Asia/Shanghai"' in out
    assert actions(emulator) == ["ListTaskInstances"]


@pytest.mark.parametrize(("hour", "warned"), [(0, False), (1, True)])
def test_a_manual_run_off_the_dags_schedule_warns_that_a_scheduled_run_would_name_another_instance(
    emulator: DataWorksEmulator, hour: int, warned: bool, capfd: pytest.CaptureFixture
) -> None:
    """The DAG fires at 00:30 Shanghai; a manual run at 01:30 names an instance no scheduled run would."""
    emulator.add_task(WORKSPACE, 700012, "hourly", http_trigger=True, cron="30 * * * *", upstream=[UPSTREAM])
    body = "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700012)"
    dag_id = f"manual_off_schedule_{hour}"
    run = pendulum.datetime(2026, 11, 25, hour, 30, tz="Asia/Shanghai")
    assert states(run_dag(dag_source(dag_id, body), dag_id, run)) == {"release": "success"}
    assert ("is not a fire time of the DAG's schedule" in capfd.readouterr().out) is warned
    assert actions(emulator) == ["ListTaskInstances", "TriggerSchedulerTaskInstance"]
