"""End to end on a real Airflow 3: api-server, dag-processor, scheduler, triggerer (LocalExecutor, SQLite).

The stack (``airflow_stack`` in conftest) is shared with the browser tests; each scenario has its own dates.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_0_PLUS
from devtools.airflow_stack import AirflowStack, wait_for
from tests.conftest import FILE_DRIVEN, ROLE_ARN, ROLE_DAG, TRIGGER_ONLY, WAIT_WORKFLOW
from tests.stack_checks import assert_no_secret_anywhere

pytestmark = pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="the stack is Airflow 3's (api-server, dag-processor)")


@pytest.fixture
def stack(airflow_stack: AirflowStack) -> AirflowStack:
    return airflow_stack


def fire_time(day: int) -> int:
    """TriggerTime of the 00:30 Asia/Shanghai instance of 2026-11-<day> (fired at 16:30 UTC the day before)."""
    return int(datetime(2026, 11, day - 1, 16, 30, tzinfo=timezone.utc).timestamp() * 1000)


def triggers(stack: AirflowStack) -> list[int]:
    return [int(c["params"]["TriggerTime"]) for c in stack.control.calls("TriggerSchedulerTaskInstance")]


def backfill_task_states(stack: AirflowStack, dag_id: str) -> list[str]:
    rows = stack.query(
        "SELECT ti.state FROM task_instance ti JOIN dag_run r ON ti.dag_id = r.dag_id AND ti.run_id = r.run_id"
        " WHERE ti.dag_id = ? AND r.run_type = 'backfill'",
        dag_id,
    )
    return [r[0] for r in rows]


def test_backfill_seven_days_triggers_each_instance_once_and_reprocessing_triggers_none(stack: AirflowStack) -> None:
    stack.backfill(TRIGGER_ONLY, "2026-11-04", "2026-11-11")  # naive dates are UTC midnight: 7 fire times
    runs = stack.wait_runs_finished(TRIGGER_ONLY, 8)  # + the latest scheduled run of the unpaused DAG
    assert {r["state"] for r in runs} == {"success"}
    assert [r["run_type"] for r in runs].count("backfill") == 7
    # Exactly the 7 expected TriggerTimes, once each. (Today's instance is also released by the scheduled runs
    # of both example DAGs, which name the same node: DataWorks takes the first and ignores the second.)
    backfilled = sorted(t for t in triggers(stack) if fire_time(4) <= t <= fire_time(12))
    assert backfilled == [fire_time(day) for day in range(5, 12)]
    triggers_before, calls_before = len(triggers(stack)), len(stack.control.calls())

    stack.backfill(TRIGGER_ONLY, "2026-11-04", "2026-11-11", "--reprocess-behavior", "completed")
    stack.wait_backfills_complete(TRIGGER_ONLY)
    runs = stack.wait_runs_finished(TRIGGER_ONLY, 8)
    assert {r["state"] for r in runs} == {"success"}
    # The 7 runs really ran again: on 3.3 each re-attaches from its task state store (1 GetTaskInstance),
    # elsewhere it finds its instance (1 ListTaskInstances); either way it sees it past its trigger.
    # (GetWorkflowInstance calls meanwhile are the scheduled wait-workflow run's deferred polls.)
    reprocessed = [c["action"] for c in stack.control.calls()[calls_before:] if c["action"] != "GetWorkflowInstance"]
    assert len(reprocessed) >= 7 and set(reprocessed) <= {"GetTaskInstance", "ListTaskInstances"}
    assert len(triggers(stack)) == triggers_before
    for instance in stack.control.instances(700001):
        assert instance["Releases"] <= 1 and instance["AcceptedTriggers"] <= 1


def test_waits_survive_a_triggerer_restart(stack: AirflowStack) -> None:
    stack.control.set_clock(freeze=True)  # released workflows cannot finish while the triggerer is down
    stack.backfill(WAIT_WORKFLOW, "2026-11-01", "2026-11-03")  # 2 runs, + the latest scheduled one
    wait_for(lambda: backfill_task_states(stack, WAIT_WORKFLOW) == ["deferred"] * 2, "2 deferred waits", 180, 1)
    stack.stop_component("triggerer")
    stack.control.set_clock(advance_seconds=600)  # everything released runs to the end meanwhile
    assert backfill_task_states(stack, WAIT_WORKFLOW) == ["deferred"] * 2
    stack.start_component("triggerer")
    runs = stack.wait_runs_finished(WAIT_WORKFLOW, 3, timeout=240)
    stack.control.set_clock(freeze=False)
    assert {r["state"] for r in runs} == {"success"}
    assert backfill_task_states(stack, WAIT_WORKFLOW) == ["success"] * 2
    assert sorted(t for t in triggers(stack) if fire_time(2) <= t <= fire_time(3)) == [fire_time(2), fire_time(3)]


def test_run_without_logical_date_fails_with_the_operator_message(stack: AirflowStack) -> None:
    before = len(stack.runs(TRIGGER_ONLY))
    stack.cli("dags", "trigger", TRIGGER_ONLY)  # no --logical-date: Airflow 3 leaves it empty
    runs = stack.wait_runs_finished(TRIGGER_ONLY, before + 1)
    manual = [r for r in runs if r["run_type"] == "manual"]
    assert manual and manual[-1]["state"] == "failed" and manual[-1]["logical_date"] is None
    logs = [text for path, text in stack.task_logs().items() if manual[-1]["run_id"] in str(path)]
    assert any("no logical date" in text and "Pass trigger_time" in text for text in logs)


def test_a_role_connection_releases_and_waits_with_its_temporary_keys(stack: AirflowStack) -> None:
    """``dataworks_role`` assumes its role in each process that uses it (the task tries, the triggerer), and
    every DataWorks call of the run is signed with a temporary key STS handed out."""
    logical_date = datetime(2026, 11, 19, 16, 30, tzinfo=timezone.utc)  # the 2026-11-20 00:30 instance
    stack.cli("dags", "trigger", ROLE_DAG, "--logical-date", logical_date.isoformat())
    (run,) = stack.wait_runs_finished(ROLE_DAG, 1, timeout=240)
    assert run["state"] == "success"
    issued = {key["AccessKeyId"] for key in stack.control.issued_keys() if key["RoleArn"] == ROLE_ARN}
    assumed = stack.control.calls("AssumeRole")
    assert {c["params"]["RoleArn"] for c in assumed} == {ROLE_ARN} and len(assumed) == len(issued)
    by_role = [c for c in stack.control.calls() if c["access_key_id"] in issued]
    sent = [c for c in by_role if c["action"] == "TriggerSchedulerTaskInstance"]
    assert [c["params"]["TriggerTime"] for c in sent] == [str(int(logical_date.timestamp() * 1000))]
    assert any(c["action"] == "ListDownstreamTaskInstances" for c in by_role)  # the triggerer's polls
    assert 1 <= len(issued) <= 3  # one per process that used it: the try, the triggerer, the resumed try


def test_the_file_driven_example_releases_each_row_once_through_mapped_tasks(stack: AirflowStack) -> None:
    """The vendor's file-driven scenario on the real stack: the example reads its CSV (copied next to it: rows for
    2026-11-23, 24 and 25 00:30 Asia/Shanghai) and releases each row's instance from a mapped task, 2 calls each."""
    rows = [fire_time(day) for day in (23, 24, 25)]
    calls_before = len(stack.control.calls())
    stack.cli("dags", "trigger", FILE_DRIVEN)
    (run,) = stack.wait_runs_finished(FILE_DRIVEN, 1, timeout=300)
    assert run["state"] == "success"
    mapped = stack.query(
        "SELECT map_index, state FROM task_instance WHERE dag_id = ? AND task_id = 'release'", FILE_DRIVEN
    )
    assert sorted(mapped) == [(0, "success"), (1, "success"), (2, "success")]
    assert sorted(t for t in triggers(stack) if t in rows) == rows
    for instance in stack.control.instances(700001):
        if instance["TriggerTime"] in rows:
            assert (instance["AcceptedTriggers"], instance["Releases"]) == (1, 1)
    bizdates = {str(t - 30 * 60_000 - 24 * 3600_000) for t in rows}  # the day before, 00:00 Asia/Shanghai
    spent = [
        c["action"]
        for c in stack.control.calls()[calls_before:]
        if c["params"].get("Bizdate") in bizdates or int(c["params"].get("TriggerTime", 0)) in rows
    ]
    assert sorted(spent) == ["ListTaskInstances"] * 3 + ["TriggerSchedulerTaskInstance"] * 3  # 2 per mapped task


def test_no_secret_in_logs_xcom_rendered_fields_or_the_database(stack: AirflowStack) -> None:
    """``dataworks_default`` is STS, ``dataworks_role`` a RAM role, and everything logs at DEBUG: no AccessKey
    secret, security token or temporary key STS handed out may leak anywhere."""
    assert len(stack.secrets) >= 5  # the AccessKey secret, the STS key's secret and token, a temporary key
    assert_no_secret_anywhere(stack, WAIT_WORKFLOW, "release_and_wait", "2026-11-25T00:30:00+08:00")
