"""Which instance a run names, and what each official value leads to: pure logic, no server, no Airflow database.

The official metadata (tests/api_meta/) lists seven ``WorkflowInstanceType`` values, ten ``TriggerRecurrence``
values and three ``RerunMode`` values; each reaches a decision here. The same decisions through the SDK, the
emulator and ``dag.test()`` are in tests/integration/test_instance_types.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_dataworks.domain import api_calls
from airflow_provider_dataworks.domain.api_records import (
    RerunMode,
    TaskInstance,
    TaskInstanceStatus,
    TriggerRecurrence,
    WorkflowInstanceType,
)
from airflow_provider_dataworks.domain.hook_calls import HookCall, run_sync
from airflow_provider_dataworks.domain.run_control import rerun_refusals, rerunnable
from airflow_provider_dataworks.domain.waiting import Found, Outcome, judge_downstream, judge_found
from airflow_provider_dataworks.exceptions import (
    InstanceFailedError,
    InstanceNotFoundError,
    InstanceNotGeneratedError,
    InstanceNotReleasableError,
    UnknownApiValueError,
)

ZONE = "Asia/Shanghai"
TASK = 700001
T_0030 = 1_764_001_800_000  # 2025-11-25 00:30 Asia/Shanghai
T_0130 = T_0030 + 3_600_000


def record(ident: int, **fields: Any) -> dict[str, Any]:
    """A ListTaskInstances row as DataWorks answers it (PascalCase)."""
    row = {
        "Id": ident,
        "TaskId": TASK,
        "TaskName": "release",
        "Status": "WaitTrigger",
        "TriggerTime": T_0030,
        "Bizdate": T_0030 - 86_400_000 - 1_800_000,
        "TriggerRecurrence": "Normal",
        "WorkflowInstanceType": "Normal",
        "ProjectEnv": "Prod",
        "RunNumber": 1,
    }
    row.update(fields)
    return row


def instance(ident: int = 1, **fields: Any) -> TaskInstance:
    return TaskInstance.from_api(record(ident, **fields))


class FakeHook:
    """Answers ``call`` with canned bodies and keeps what was asked (the sans-I/O steps' only I/O)."""

    def __init__(self, *bodies: dict[str, Any]) -> None:
        self.bodies = list(bodies)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, action: str, **params: Any) -> dict[str, Any]:
        self.calls.append((action, params))
        return self.bodies.pop(0)

    def get_settings(self) -> Any:
        return type("Settings", (), {"env_type": "Prod"})()


def page(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"PagingInfo": {"TaskInstances": list(rows), "TotalCount": len(rows)}}


# ----------------------------------------------------------------------------------- which instance a run names
@pytest.mark.parametrize("other", [t.value for t in WorkflowInstanceType if t != WorkflowInstanceType.NORMAL])
def test_another_workflow_instance_type_of_the_same_node_and_time_is_never_the_runs(other: str) -> None:
    """A DataWorks backfill, manual run or smoke test of the node's day, listed first and already Success, is passed
    over for the scheduled instance."""
    day = [instance(9, WorkflowInstanceType=other, Status="Success"), instance(5)]
    found = api_calls.match_instance(day, TASK, T_0030, ZONE)
    assert (found.id, found.status) == (5, TaskInstanceStatus.WAIT_TRIGGER)


def test_a_day_with_only_other_types_has_no_scheduled_instance_yet() -> None:
    day = [instance(9, WorkflowInstanceType="SupplementData", Status="Success")]
    with pytest.raises(InstanceNotGeneratedError, match="no instances yet"):
        api_calls.match_instance(day, TASK, T_0030, ZONE)


def test_the_not_found_error_lists_only_scheduled_times() -> None:
    day = [instance(5, TriggerTime=T_0130), instance(9, WorkflowInstanceType="SmokeTest")]
    with pytest.raises(InstanceNotFoundError) as raised:
        api_calls.match_instance(day, TASK, T_0030, ZONE)
    assert "01:30:00 +08:00 (id 5)" in str(raised.value) and "id 9" not in str(raised.value)


def test_find_instance_asks_dataworks_for_the_scheduled_instances_only() -> None:
    hook = FakeHook(page(instance_row := record(5)))
    found = run_sync(api_calls.find_instance(TASK, T_0030, project_id=1001, zone=ZONE, env_type="Prod"), hook)
    assert found.id == instance_row["Id"]
    [(action, params)] = hook.calls
    assert action == "ListTaskInstances"
    assert params["workflow_instance_type"] == "Normal" and params["task_id"] == TASK
    assert params["project_env"] == "Prod" and params["bizdate"] == record(5)["Bizdate"]


def test_a_rerun_instance_listed_with_its_history_counts_once_at_its_latest_run() -> None:
    """ListTaskInstances by Id lists one record per RunNumber; the latest run is the instance's state."""
    rows = [record(5, RunNumber=2, Status="Running"), record(5, RunNumber=1, Status="Failure"), record(6)]
    latest = api_calls.latest_runs(TaskInstance.from_api(r) for r in rows)
    assert [(i.id, i.run_number, i.status.value) for i in latest] == [(5, 2, "Running"), (6, 1, "WaitTrigger")]
    hook = FakeHook(page(*rows))
    listed = run_sync(api_calls.list_instances(1001, 0, ids=[5, 6]), hook)
    assert [(i.id, i.status.value) for i in listed] == [(5, "Running"), (6, "WaitTrigger")]


def test_a_record_without_a_workflow_instance_type_is_read_as_scheduled() -> None:
    found = api_calls.match_instance([instance(5, WorkflowInstanceType=None)], TASK, T_0030, ZONE)
    assert found.id == 5 and found.is_scheduled


# ------------------------------------------------------------------------------------ what each recurrence does
DRY_RUNS = ["Skip", "SkipCycle", "SkipCalendar", "SkipUnchoose", "ConditionUnchoose", "RealtimeDeprecated"]


def test_every_official_recurrence_value_has_a_decision() -> None:
    decided = {*DRY_RUNS, "Pause", "PauseCalendar", "Manual", "Normal"}
    assert decided == {r.value for r in TriggerRecurrence} and len(decided) == 10


@pytest.mark.parametrize("recurrence", DRY_RUNS)
@pytest.mark.parametrize("status", ["NotRun", "WaitTime", "WaitTrigger", "Success"])
def test_a_dry_run_is_never_triggered(recurrence: str, status: str) -> None:
    assert judge_found(instance(TriggerRecurrence=recurrence, Status=status)) == Found.DRY_RUN


@pytest.mark.parametrize(
    ("recurrence", "says"),
    [("Pause", "Resume (unfreeze) the node"), ("PauseCalendar", "scheduling calendar")],
)
def test_a_paused_instance_is_not_releasable_and_says_which_pause(recurrence: str, says: str) -> None:
    with pytest.raises(InstanceNotReleasableError) as raised:
        judge_found(instance(TriggerRecurrence=recurrence, Status="NotRun"))
    message = str(raised.value)
    assert f"TriggerRecurrence {recurrence}" in message and says in message and "nothing was sent" in message


def test_a_manual_instance_is_not_releasable_and_names_the_mismatch() -> None:
    with pytest.raises(
        InstanceNotReleasableError, match=r"manual task.s instance .*not an instance of the node.s daily schedule"
    ):
        judge_found(instance(TriggerRecurrence="Manual"))


@pytest.mark.parametrize(
    ("status", "found"),
    [
        ("NotRun", Found.TRIGGER),
        ("WaitTime", Found.TRIGGER),
        ("WaitTrigger", Found.TRIGGER),
        ("WaitResource", Found.RELEASED),
        ("CheckingCondition", Found.RELEASED),
        ("Running", Found.RELEASED),
        ("Checking", Found.RELEASED),
        ("Success", Found.RELEASED),
    ],
)
def test_a_normal_instance_is_triggered_only_before_its_trigger(status: str, found: Found) -> None:
    assert judge_found(instance(Status=status)) == found


def test_a_failed_normal_instance_fails_the_try() -> None:
    with pytest.raises(InstanceFailedError, match="is in Failure"):
        judge_found(instance(Status="Failure"))


# ------------------------------------------------------------------------------------------ unknown enum values
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Status", "Frozen"),
        ("TriggerRecurrence", "SkipHoliday"),
        ("WorkflowInstanceType", "Replay"),
        ("RerunMode", "SomeAllowed"),
    ],
)
def test_an_unknown_value_names_the_field_the_value_and_the_fix(field: str, value: str) -> None:
    with pytest.raises(UnknownApiValueError) as raised:
        instance(5, **{field: value})
    message = str(raised.value)
    assert (
        f"{field}='{value}'" in message and "instance 5" in message and "Upgrade airflow-provider-dataworks" in message
    )


# ------------------------------------------------------------------------------------------- rerun mode and config
def failed(ident: int, mode: str | None, status: str = "Failure") -> TaskInstance:
    return instance(ident, TaskId=ident, TaskName=f"load_{ident}", Status=status, RerunMode=mode)


def test_rerun_refusals_follow_the_official_rerun_modes() -> None:
    refused = rerun_refusals(
        [
            failed(1, "AllAllowed"),
            failed(2, "FailureAllowed"),
            failed(3, "AllDenied"),
            failed(4, None),
            failed(5, "FailureAllowed", status="Success"),
        ]
    )
    assert set(refused) == {3, 5}
    assert "AllDenied" in refused[3] and "FailureAllowed" in refused[5] and "Success" in refused[5]
    assert {m.value for m in RerunMode} == {"AllAllowed", "FailureAllowed", "AllDenied"}


def test_a_repair_reruns_the_failed_downstream_never_the_trigger_instance() -> None:
    verdict = judge_downstream([failed(1, "AllAllowed"), failed(700001, None), instance(3, Status="Success")])
    assert verdict.state == Outcome.FAILED and verdict.failed_ids == (1, 700001)
    assert [i.id for i in rerunnable(verdict, 700001)] == [1]


@pytest.mark.parametrize(("latest", "sent"), [(False, None), (True, True)])
def test_use_latest_config_is_sent_only_when_chosen(latest: bool, sent: bool | None) -> None:
    hook = FakeHook({"SuccessInfo": {"7": {"Success": True}}})
    outcome = run_sync(api_calls.rerun_instances([7], "why", latest), hook)
    [(action, params)] = hook.calls
    assert action == "RerunTaskInstances" and params.get("use_latest_config") is sent
    assert params["retry_ambiguous"] is False and outcome.done == (7,)


def test_a_call_the_steps_ask_for_is_a_hook_method() -> None:
    step = api_calls.rerun_instances([7], "why")
    assert next(step) == HookCall(
        "call", ("RerunTaskInstances",), {"retry_ambiguous": False, "ids": [7], "comment": "why"}
    )


# ------------------------------------------------------------------------------ a time that names no instance
def test_a_dag_in_utc_against_a_shanghai_node_is_told_to_fix_the_dags_zone() -> None:
    """00:30 UTC = 08:30 Shanghai: eight whole hours after the node's 00:30, the same wall time in the DAG's zone."""
    day = [instance(5)]
    with pytest.raises(InstanceNotFoundError) as raised:
        api_calls.match_instance(day, TASK, T_0030 + 8 * 3_600_000, ZONE, api_calls.Advice(dag_zone="UTC"))
    message = str(raised.value)
    assert raised.value.offset_hours == 8
    assert "8 hours after the node's 00:30" in message and "the DAG fires at 00:30 in UTC" in message
    assert 'pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai")' in message and "trigger_time" not in message


def test_a_whole_hour_offset_in_the_nodes_own_zone_names_both_zone_fixes() -> None:
    with pytest.raises(InstanceNotFoundError) as raised:
        api_calls.match_instance([instance(5)], TASK, T_0030 - 3_600_000, ZONE, api_calls.Advice(dag_zone=ZONE))
    message = str(raised.value)
    assert "1 hour before the node's 00:30" in message and "connection's 'timezone' extra" in message
    assert 'start_date tz="Asia/Shanghai"' in message


def test_any_other_offset_is_a_schedule_mismatch_and_find_instance_names_the_nodes_cron() -> None:
    """One GetTask, on this failing path only, names the node's cron."""
    hook = FakeHook(page(record(5)), {"Task": {"Id": TASK, "Trigger": {"Cron": "00 30 00 * * ?"}}})
    steps = api_calls.find_instance(TASK, T_0030 + 1_800_000, project_id=1001, zone=ZONE, dag_zone=ZONE)
    with pytest.raises(InstanceNotFoundError) as raised:
        run_sync(steps, hook)
    assert [action for action, _ in hook.calls] == ["ListTaskInstances", "GetTask"]
    message = str(raised.value)
    assert "The node runs at 00:30 in Asia/Shanghai (its cron: '00 30 00 * * ?')" in message
    assert "2025-11-25 00:30:00 +08:00 (id 5)" in message and "Pass trigger_time only" in message


def test_a_zone_mismatch_costs_no_get_task() -> None:
    hook = FakeHook(page(record(5)))
    steps = api_calls.find_instance(TASK, T_0030 + 8 * 3_600_000, project_id=1001, zone=ZONE, dag_zone="UTC")
    with pytest.raises(InstanceNotFoundError):
        run_sync(steps, hook)
    assert [action for action, _ in hook.calls] == ["ListTaskInstances"]


def test_a_trigger_time_that_names_no_instance_is_the_one_to_fix() -> None:
    advice = api_calls.Advice(dag_zone="UTC", time_source="trigger_time")
    with pytest.raises(InstanceNotFoundError) as raised:
        api_calls.match_instance([instance(5)], TASK, T_0030 + 8 * 3_600_000, ZONE, advice)
    message = str(raised.value)
    assert "set trigger_time to one of the node's times" in message and "start_date" not in message
