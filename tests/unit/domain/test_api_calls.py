"""The OpenAPI calls each operation makes, in order and in number, driven by a fake hook (domain/api_calls.py).

The same operations through the SDK and the emulator are in tests/integration/test_hook.py; which instance a run
names (match_instance) is in test_instance_choice.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_dataworks.domain import api_calls
from airflow_provider_dataworks.domain.api_records import TaskInstance
from airflow_provider_dataworks.domain.hook_calls import HookCall, Steps, run_sync
from airflow_provider_dataworks.exceptions import (
    DataWorksApiError,
    InstanceNotFoundError,
    InstanceNotGeneratedError,
)
from tests.unit.domain.test_instance_choice import T_0030, TASK, ZONE, record
from tests.unit.fake_hook import (
    HOOK_METHODS,
    ScriptedHook,
    batch_body,
    downstream_page,
    instance_body,
    instances_page,
    task_instance_row,
    workflow_body,
)

PAGE = api_calls.PAGE_SIZE


# ------------------------------------------------------------------------------------------------ the trigger
def test_a_trigger_costs_one_call_and_is_never_retried_on_an_ambiguous_failure() -> None:
    hook = ScriptedHook(TriggerSchedulerTaskInstance={"Success": True})
    assert run_sync(api_calls.trigger_instance(TASK, T_0030, "Dev"), hook) is None
    assert hook.calls == [
        (
            "TriggerSchedulerTaskInstance",
            {"retry_ambiguous": False, "task_id": TASK, "trigger_time": T_0030, "env_type": "Dev"},
        )
    ]


def test_a_trigger_without_an_environment_takes_the_connections_and_asks_dataworks_nothing_more() -> None:
    steps = api_calls.trigger_instance(TASK, T_0030, None)
    assert next(steps) == HookCall("get_settings")
    call = steps.send(type("Settings", (), {"env_type": "Prod"})())
    assert call.name == "call" and call.args == ("TriggerSchedulerTaskInstance",)
    assert call.kwargs["env_type"] == "Prod"


@pytest.mark.parametrize("answer", [{"Success": False, "RequestId": "r-1"}, {"RequestId": "r-1"}, {"Success": "true"}])
def test_a_trigger_dataworks_does_not_confirm_raises_naming_the_answer(answer: dict) -> None:
    hook = ScriptedHook(TriggerSchedulerTaskInstance=answer)
    with pytest.raises(DataWorksApiError) as raised:
        run_sync(api_calls.trigger_instance(TASK, T_0030, "Prod"), hook)
    err = raised.value
    assert (err.action, err.code) == ("TriggerSchedulerTaskInstance", "NotSuccess")
    assert f"Success={answer.get('Success')!r}" in str(err) and not err.transient
    assert err.request_id == answer.get("RequestId") and len(hook.calls) == 1


# ------------------------------------------------------------------------------------------- one-call reads
@pytest.mark.parametrize(
    ("steps", "action", "answer", "ident"),
    [
        (api_calls.get_instance(5), "GetTaskInstance", instance_body(5, Status="Running"), 5),
        (api_calls.get_workflow_instance(9001), "GetWorkflowInstance", workflow_body(9001, "Running"), 9001),
        (api_calls.get_task(TASK), "GetTask", {"Task": {"Id": TASK, "ProjectId": 1001}}, TASK),
        (api_calls.get_project(1001), "GetProject", {"Project": {"Id": 1001, "Name": "ws"}}, 1001),
    ],
    ids=["GetTaskInstance", "GetWorkflowInstance", "GetTask", "GetProject"],
)
def test_each_read_by_id_costs_exactly_one_call(steps: Steps[Any], action: str, answer: dict, ident: int) -> None:
    hook = ScriptedHook(**{action: answer})
    found = run_sync(steps, hook)
    assert hook.calls == [(action, {"id": ident})]
    assert found.id == ident


def test_an_instance_read_keeps_what_the_decisions_need() -> None:
    hook = ScriptedHook(GetTaskInstance=instance_body(5, Status="Failure", RunNumber=3, WaitingTriggerTime=42))
    inst = run_sync(api_calls.get_instance(5), hook)
    assert (inst.status.value, inst.run_number, inst.waiting_trigger_since_ms) == ("Failure", 3, 42)
    assert (inst.workflow_instance_id, inst.project_id, inst.env_type) == (9001, 1001, "Prod")


# --------------------------------------------------------------------------------------------------- listings
@pytest.mark.parametrize(("total", "calls"), [(0, 1), (1, 1), (PAGE, 1), (PAGE + 1, 2), (2 * PAGE + 1, 3)])
def test_a_listing_costs_one_call_per_500_instances(total: int, calls: int) -> None:
    def page_of(params: dict) -> dict:
        first = (params["page_number"] - 1) * PAGE
        rows = [task_instance_row(i + 1) for i in range(first, min(first + PAGE, total))]
        return instances_page(*rows, total=total)

    hook = ScriptedHook(ListTaskInstances=page_of)
    listed = run_sync(api_calls.list_instances(1001, 0), hook)
    assert len(hook.calls) == calls and len(listed) == total
    assert [p["page_number"] for p in hook.params_of("ListTaskInstances")] == list(range(1, calls + 1))
    assert {p["page_size"] for p in hook.params_of("ListTaskInstances")} == {PAGE}


def test_a_listing_sends_only_the_filters_given_under_dataworks_names() -> None:
    hook = ScriptedHook(ListTaskInstances=instances_page())
    run_sync(api_calls.list_instances(1001, 77), hook)
    run_sync(
        api_calls.list_instances(
            1001,
            77,
            task_id=TASK,
            ids=[5, 6],
            env_type="Dev",
            workflow_instance_id=9001,
            workflow_instance_type="Normal",
        ),
        hook,
    )
    bare, narrowed = hook.params_of("ListTaskInstances")
    base = {"project_id": 1001, "bizdate": 77, "sort_by": "TriggerTime Asc", "page_number": 1, "page_size": PAGE}
    assert bare == base
    assert narrowed == {
        **base,
        "task_id": TASK,
        "ids": [5, 6],
        "project_env": "Dev",
        "workflow_instance_id": 9001,
        "workflow_instance_type": "Normal",
    }


def test_empty_filters_are_left_out_but_a_zero_id_is_sent() -> None:
    hook = ScriptedHook(ListTaskInstances=instances_page())
    run_sync(api_calls.list_instances(1001, 0, ids=[], env_type=None, workflow_instance_type="", task_id=0), hook)
    [params] = hook.params_of("ListTaskInstances")
    assert "ids" not in params and "project_env" not in params and "workflow_instance_type" not in params
    assert params["task_id"] == 0


def test_a_rerun_listed_on_two_pages_counts_once_at_its_latest_run() -> None:
    first = instances_page(
        *[task_instance_row(i) for i in range(100, 99 + PAGE)], task_instance_row(7, RunNumber=1), total=PAGE + 1
    )
    second = instances_page(task_instance_row(7, RunNumber=2, Status="Running"), total=PAGE + 1)
    hook = ScriptedHook(ListTaskInstances=[first, second])
    listed = run_sync(api_calls.list_instances(1001, 0), hook)
    assert len(hook.calls) == 2 and len(listed) == PAGE
    assert [(i.run_number, i.status.value) for i in listed if i.id == 7] == [(2, "Running")]


def test_downstream_is_listed_page_by_page_and_unwrapped() -> None:
    rows = [task_instance_row(i, TaskId=800000 + i) for i in range(1, PAGE + 3)]
    hook = ScriptedHook(
        ListDownstreamTaskInstances=[
            downstream_page(*rows[:PAGE], total=len(rows)),
            downstream_page(*rows[PAGE:], total=len(rows)),
        ]
    )
    listed = run_sync(api_calls.list_downstream(5), hook)
    assert hook.actions == ["ListDownstreamTaskInstances"] * 2
    assert [p["id"] for p in hook.params_of("ListDownstreamTaskInstances")] == [5, 5]
    assert [i.task_id for i in listed] == [r["TaskId"] for r in rows]


def test_downstream_rows_without_an_instance_are_skipped_and_a_flat_answer_is_read_too() -> None:
    wrapped = {
        "PagingInfo": {
            "DownstreamTaskInstances": [{"TaskInstance": task_instance_row(2)}, {"Other": 1}],
            "TotalCount": 2,
        }
    }
    assert [
        i.id for i in run_sync(api_calls.list_downstream(1), ScriptedHook(ListDownstreamTaskInstances=wrapped))
    ] == [2]
    flat = instances_page(task_instance_row(3))
    assert [i.id for i in run_sync(api_calls.list_downstream(1), ScriptedHook(ListDownstreamTaskInstances=flat))] == [3]


# --------------------------------------------------------------------------------------- finding the run's one
def test_finding_the_instance_on_a_busy_day_pages_through_it() -> None:
    """An hourly node in a workspace of 600 instances a day: 2 calls, the run's instance on the second page."""
    others = [record(i, TaskId=TASK + 1) for i in range(1, PAGE + 1)]
    hook = ScriptedHook(
        ListTaskInstances=[instances_page(*others, total=PAGE + 1), instances_page(record(900), total=PAGE + 1)]
    )
    found = run_sync(api_calls.find_instance(TASK, T_0030, project_id=1001, zone=ZONE), hook)
    assert found.id == 900 and hook.actions == ["ListTaskInstances"] * 2


def test_a_day_without_instances_costs_one_call_and_no_get_task() -> None:
    hook = ScriptedHook(ListTaskInstances=instances_page())
    with pytest.raises(InstanceNotGeneratedError, match="the task will retry"):
        run_sync(api_calls.find_instance(TASK, T_0030, project_id=1001, zone=ZONE), hook)
    assert hook.actions == ["ListTaskInstances"]


def test_find_leaves_the_environment_to_the_connection_when_not_given() -> None:
    hook = ScriptedHook(ListTaskInstances=instances_page(record(5)))
    run_sync(api_calls.find_instance(TASK, T_0030, project_id=1001, zone=ZONE), hook)
    assert "project_env" not in hook.params_of("ListTaskInstances")[0]


def test_an_hourly_nodes_day_names_the_instance_at_the_runs_hour() -> None:
    day = [TaskInstance.from_api(record(100 + h, TriggerTime=T_0030 + h * 3_600_000)) for h in range(24)]
    assert api_calls.match_instance(day, TASK, T_0030 + 5 * 3_600_000, ZONE).id == 105


def test_another_nodes_instance_at_the_same_time_is_never_the_runs() -> None:
    day = [TaskInstance.from_api(r) for r in (record(1, TaskId=TASK + 1), record(2))]
    assert api_calls.match_instance(day, TASK, T_0030, ZONE).id == 2


def test_the_first_pass_of_a_repeated_hour_names_the_kept_second_pass() -> None:
    """Berlin, 2026-10-25: 02:30 comes at 00:30 UTC (CEST) and at 01:30 UTC (CET); DataWorks keeps the second."""
    first, second = 1_792_888_200_000, 1_792_891_800_000  # 00:30 and 01:30 UTC
    day = [TaskInstance.from_api(record(5, TriggerTime=second))]
    assert api_calls.match_instance(day, TASK, first, "Europe/Berlin").id == 5
    assert api_calls.match_instance(day, TASK, second, "Europe/Berlin").id == 5


@pytest.mark.parametrize(
    ("scheduled", "offset"),
    [
        ([T_0030 - 3_600_000], 1),
        ([T_0030 + 2 * 3_600_000, T_0030 - 5 * 3_600_000], -2),
        ([T_0030 + 1_800_000], None),
        ([T_0030, T_0030 + 1_800_000], None),
        ([], None),
    ],
)
def test_a_whole_hour_offset_is_the_nearest_scheduled_time_a_whole_number_of_hours_away(
    scheduled: list[int], offset: int | None
) -> None:
    assert api_calls.whole_hour_offset(T_0030, scheduled) == offset


def test_a_missing_time_error_carries_the_days_scheduled_instances_and_its_offset() -> None:
    day = [TaskInstance.from_api(record(5, TriggerTime=T_0030 - 3_600_000))]
    with pytest.raises(InstanceNotFoundError) as raised:
        api_calls.match_instance(day, TASK, T_0030, ZONE)
    assert raised.value.scheduled == [(5, T_0030 - 3_600_000)] and raised.value.offset_hours == 1


# ------------------------------------------------------------------------------------ stop and rerun batches
def test_a_stop_costs_one_call_and_is_retried_as_a_read_is() -> None:
    hook = ScriptedHook(StopTaskInstances=batch_body(i5=True, i6="The task instance is already Success."))
    outcome = run_sync(api_calls.stop_instances(iter([5, 6]), "why"), hook)
    assert hook.calls == [("StopTaskInstances", {"ids": [5, 6], "comment": "why"})]  # no retry_ambiguous=False
    assert outcome.done == (5,) and dict(outcome.refused) == {6: "The task instance is already Success."}


def test_a_workflow_stop_costs_one_call() -> None:
    hook = ScriptedHook(StopWorkflowInstances=batch_body(i9001=True))
    outcome = run_sync(api_calls.stop_workflow_instances([9001], "why"), hook)
    assert hook.calls == [("StopWorkflowInstances", {"ids": [9001], "comment": "why"})]
    assert (outcome.done, dict(outcome.refused)) == ((9001,), {})


def test_a_rerun_costs_one_call_retried_on_throttling_only() -> None:
    hook = ScriptedHook(RerunTaskInstances=batch_body(i5=True))
    run_sync(api_calls.rerun_instances((i for i in [5]), "why"), hook)
    assert hook.calls == [("RerunTaskInstances", {"retry_ambiguous": False, "ids": [5], "comment": "why"})]


@pytest.mark.parametrize(
    ("body", "refused"),
    [
        ({}, {5: "DataWorks gave no answer for this id", 6: "DataWorks gave no answer for this id"}),
        ({"SuccessInfo": None}, {5: "DataWorks gave no answer for this id", 6: "DataWorks gave no answer for this id"}),
        (
            {"SuccessInfo": {"5": {"Success": True}, "6": {"Success": "true"}}},
            {6: "DataWorks gave no answer for this id"},
        ),
        ({"SuccessInfo": {"5": {"Success": True}, "6": {"Success": False, "Message": "no"}}}, {6: "no"}),
    ],
)
def test_an_id_dataworks_does_not_confirm_counts_as_refused(body: dict, refused: dict) -> None:
    outcome = api_calls.BatchOutcome.from_api(body, [5, 6])
    assert dict(outcome.refused) == refused
    assert outcome.done == tuple(i for i in (5, 6) if i not in refused)


# ------------------------------------------------------------------------------------------------ the hook
def test_every_hook_call_the_steps_ask_for_is_a_sync_and_async_method_of_the_hook() -> None:
    """The fake offers what DataWorksHook offers: a step yields only names both drivers can call."""
    from airflow_provider_dataworks.hooks.dataworks import DataWorksHook

    for name in (*HOOK_METHODS, "call", "get_settings"):
        assert callable(getattr(DataWorksHook, name)) and callable(getattr(DataWorksHook, "a" + name)), name
