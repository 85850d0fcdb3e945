"""A wait's verdicts, its poll pacing and the calls each poll costs (domain/waiting.py), with no server.

The same waits end to end (dag.test(), the emulator's clock ticking) are in tests/integration/test_dags.py and
tests/reliability/test_reliability_faults.py.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_dataworks.domain.api_records import TaskInstance, WorkflowInstance
from airflow_provider_dataworks.domain.hook_calls import run_sync
from airflow_provider_dataworks.domain.wait_state import WaitState
from airflow_provider_dataworks.domain.waiting import (
    BACKOFF_FACTOR,
    DEFAULT_CAP_FACTOR,
    MAX_FAILED_POLLS,
    TRIGGER_RETENTION_MS,
    Outcome,
    PollPacer,
    Verdict,
    WaitPoller,
    describe_instance,
    judge_downstream,
    judge_release,
    judge_trigger_instance,
    judge_workflow,
    next_cycle,
    next_poll_interval,
    poll_cap,
    raise_unless_tolerated,
    trigger_lost,
)
from airflow_provider_dataworks.exceptions import DataWorksApiError, DataWorksError
from tests.unit.fake_hook import (
    ScriptedHook,
    downstream_page,
    instance_body,
    instances_page,
    task_instance_row,
    workflow_body,
)

SENT = 1_764_001_860_000  # when our trigger was sent (epoch ms)
DAY = TRIGGER_RETENTION_MS


def inst(ident: int = 5, **fields: Any) -> TaskInstance:
    return TaskInstance.from_api(task_instance_row(ident, **fields))


def wfi(status: str, **fields: Any) -> WorkflowInstance:
    return WorkflowInstance.from_api(workflow_body(9001, status, **fields)["WorkflowInstance"])


# ------------------------------------------------------------------------------------ the trigger instance itself
@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("NotRun", Outcome.WAITING),
        ("WaitTime", Outcome.WAITING),
        ("WaitTrigger", Outcome.WAITING),
        ("WaitResource", Outcome.WAITING),
        ("CheckingCondition", Outcome.WAITING),
        ("Running", Outcome.WAITING),
        ("Checking", Outcome.WAITING),
        ("Success", Outcome.DONE),
        ("Failure", Outcome.FAILED),
    ],
)
def test_each_status_of_the_trigger_instance_has_its_verdict(status: str, outcome: Outcome) -> None:
    verdict = judge_trigger_instance(inst(Status=status), SENT, resent=False)
    assert verdict.state == outcome and verdict.statuses == {"instance 5 (release)": status}
    assert verdict.finished is (outcome != Outcome.WAITING)


def test_a_dry_run_that_succeeded_says_dataworks_released_it_without_running() -> None:
    verdict = judge_trigger_instance(inst(Status="Success", TriggerRecurrence="SkipCycle"), None, resent=False)
    assert verdict.state == Outcome.DONE and "a dry run" in verdict.message and "without running" in verdict.message
    plain = judge_trigger_instance(inst(Status="Success"), None, resent=False)
    assert "dry run" not in plain.message


def test_the_outcomes_are_the_trigger_events_statuses() -> None:
    assert (Outcome.DONE.value, Outcome.FAILED.value) == ("success", "failure")
    assert {o.value for o in Outcome} == {"success", "failure", "waiting", "retrigger"}


@pytest.mark.parametrize(
    ("since", "sent", "lost"),
    [
        (SENT + DAY + 1, SENT, True),
        (SENT + DAY, SENT, False),  # exactly 24 h: still kept
        (SENT + 60_000, SENT, False),
        (None, SENT, False),
        (SENT + 3 * DAY, None, False),  # not ours to send
    ],
)
def test_a_trigger_is_lost_only_when_the_instance_began_waiting_more_than_24h_after_it(
    since: int | None, sent: int | None, lost: bool
) -> None:
    assert trigger_lost(inst(WaitingTriggerTime=since), sent) is lost
    assert trigger_lost(inst(Status="NotRun", WaitingTriggerTime=since), sent) is False  # not waiting for it


def test_a_lost_trigger_is_sent_once_more_never_a_third_time() -> None:
    waiting = inst(WaitingTriggerTime=SENT + DAY + 1)
    assert judge_trigger_instance(waiting, SENT, resent=False).state == Outcome.RETRIGGER
    assert judge_trigger_instance(waiting, SENT, resent=True).state == Outcome.WAITING


# -------------------------------------------------------------------------- before a downstream or workflow target
@pytest.mark.parametrize("status", ["WaitResource", "Running", "Checking", "CheckingCondition", "Success"])
def test_a_released_trigger_instance_lets_the_wait_go_on_to_its_target(status: str) -> None:
    assert judge_release(inst(Status=status), SENT, resent=False) is None


@pytest.mark.parametrize("status", ["NotRun", "WaitTime", "WaitTrigger"])
def test_an_unreleased_trigger_instance_keeps_the_wait_on_it(status: str) -> None:
    verdict = judge_release(inst(Status=status), SENT, resent=False)
    assert verdict is not None and verdict.state == Outcome.WAITING
    assert verdict.message.endswith("Its downstream has not been released yet.")


def test_a_trigger_instance_failed_before_releasing_fails_the_wait() -> None:
    verdict = judge_release(inst(Status="Failure"), SENT, resent=False)
    assert verdict is not None and verdict.state == Outcome.FAILED and "before releasing" in verdict.message
    assert verdict.failed == ()  # nothing for a repair to rerun


def test_a_lost_trigger_before_a_downstream_target_is_resent_too() -> None:
    verdict = judge_release(inst(WaitingTriggerTime=SENT + DAY + 1), SENT, resent=False)
    assert verdict is not None and verdict.state == Outcome.RETRIGGER


# ---------------------------------------------------------------------------------------- downstream and workflow
def test_downstream_verdicts() -> None:
    ok, running, failed = inst(2, Status="Success"), inst(3, Status="Running"), inst(4, Status="Failure")
    assert judge_downstream([]).state == Outcome.DONE and "no downstream" in judge_downstream([]).message
    assert judge_downstream([ok, ok]).message == "all 2 downstream instances succeeded."
    waiting = judge_downstream([ok, running, inst(6, Status="NotRun")])
    assert waiting.state == Outcome.WAITING and waiting.message == "2 of 3 downstream instances not finished."
    lost = judge_downstream([ok, running, failed])  # one failure fails the wait, whatever still runs
    assert (
        lost.state == Outcome.FAILED and lost.failed_ids == (4,) and "instance 4 (release) is Failure" in lost.message
    )
    assert set(lost.statuses.values()) == {"Success", "Running", "Failure"}


def test_workflow_verdicts_name_the_failed_members_when_known() -> None:
    assert judge_workflow(wfi("Success")).state == Outcome.DONE
    assert judge_workflow(wfi("Running")).state == Outcome.WAITING
    bare = judge_workflow(wfi("Failure"))
    assert bare.state == Outcome.FAILED and bare.message == "workflow instance 9001 (wf) failed." and bare.failed == ()
    named = judge_workflow(wfi("Failure"), [inst(4, TaskName="load_a", Status="Failure")])
    assert named.message == "workflow instance 9001 (wf) failed: instance 4 (load_a) is Failure."
    assert named.failed_ids == (4,)


def test_a_verdict_lists_what_failed() -> None:
    verdict = Verdict(Outcome.FAILED, "x", failed=(inst(1), inst(2)))
    assert verdict.failed_ids == (1, 2) and verdict.finished


# ------------------------------------------------------------------------------------------------ poll pacing
def test_the_cap_is_max_poll_interval_or_four_poll_intervals() -> None:
    assert poll_cap(15, None) == 60.0 == DEFAULT_CAP_FACTOR * 15
    assert poll_cap(15, 0) == 60.0  # 0: not set
    assert poll_cap(15, 100) == 100.0


def test_an_unchanged_wait_slows_by_half_each_poll_up_to_its_cap_and_a_change_resets_it() -> None:
    pacer = PollPacer(poll_interval=10, cap=40)
    same = {"instance 5": "Running"}
    pauses = [pacer.after(same) for _ in range(6)]
    assert pauses == [10, 15, 22.5, 33.75, 40, 40]
    assert pacer.after({"instance 5": "Success"}) == 10  # a status changed: back to the asked interval
    assert pacer.after({"instance 5": "Success"}) == 10 * BACKOFF_FACTOR


def test_a_cap_below_the_poll_interval_never_makes_polls_faster_than_asked() -> None:
    pacer = PollPacer(poll_interval=30, cap=5)
    assert [pacer.after({}) for _ in range(3)] == [30, 30, 30]
    assert next_poll_interval(30, 30, 5, changed=False) == 30


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(
    poll=st.floats(0.5, 600),
    cap=st.floats(0.1, 3600),
    changes=st.lists(st.booleans(), min_size=1, max_size=30),
)
def test_poll_pacing_stays_between_the_asked_interval_and_the_cap(poll: float, cap: float, changes: list) -> None:
    pacer = PollPacer(poll_interval=poll, cap=cap)
    status = 0
    for changed in changes:
        status += changed
        pause = pacer.after({"s": str(status)})
        assert poll <= pause <= max(poll, cap)
        if changed:
            assert pause == poll


def test_a_wait_state_paces_with_its_own_settings() -> None:
    pacer = PollPacer.for_wait(WaitState(instance_id=5, poll_interval=20, max_poll_interval=None))
    assert (pacer.poll_interval, pacer.cap, pacer.interval) == (20, 80, 20)
    assert PollPacer.for_wait(WaitState(instance_id=5, poll_interval=20, max_poll_interval=25)).cap == 25


def error(code: str, status: int | None) -> DataWorksApiError:
    return DataWorksApiError("GetTaskInstance", code, "m", status)


@pytest.mark.parametrize(
    "err", [error("Throttling.User", 429), error("InternalError", 500), error("NoAnswer", None)], ids=str
)
def test_a_poll_failing_on_a_passing_cause_costs_one_poll_up_to_five_in_a_row(err: DataWorksApiError) -> None:
    pacer = PollPacer(poll_interval=10, cap=40)
    assert [pacer.after_failure(err) for _ in range(MAX_FAILED_POLLS - 1)] == [15, 22.5, 33.75, 40]
    with pytest.raises(DataWorksApiError):
        pacer.after_failure(err)
    assert MAX_FAILED_POLLS == 5


def test_a_successful_poll_clears_the_failures_in_a_row() -> None:
    pacer = PollPacer(poll_interval=10, cap=40)
    for _ in range(MAX_FAILED_POLLS - 1):
        pacer.after_failure(error("InternalError", 500))
    pacer.after({})
    assert pacer.failed_in_a_row == 0
    for _ in range(MAX_FAILED_POLLS - 1):
        pacer.after_failure(error("InternalError", 500))  # four more are tolerated again


@pytest.mark.parametrize(
    "err",
    [error("Forbidden.Access", 403), error("Throttling.Api.Risk", 429), error("InvalidParameter", 400)],
    ids=str,
)
def test_a_poll_failing_for_good_fails_the_wait_at_once(err: DataWorksApiError) -> None:
    with pytest.raises(DataWorksApiError) as raised:
        PollPacer(poll_interval=10, cap=40).after_failure(err)
    assert raised.value is err
    with pytest.raises(DataWorksApiError):
        raise_unless_tolerated(err, 1)


@pytest.mark.parametrize(
    ("due", "interval", "cycle"),
    [(100.0, 60.0, 120.0), (120.0, 60.0, 120.0), (120.0000000001, 60.0, 120.0), (0.0, 5.0, 0.0), (61.0, 30.0, 90.0)],
)
def test_shared_poll_cycles_are_the_multiples_of_the_interval(due: float, interval: float, cycle: float) -> None:
    assert next_cycle(due, interval) == pytest.approx(cycle)
    assert next_cycle(due, interval) >= due - 1e-6


# --------------------------------------------------------------------------------------- one poll, its calls
def test_a_wait_on_the_instance_costs_one_call_a_poll() -> None:
    hook = ScriptedHook(GetTaskInstance=instance_body(5, Status="Running"))
    poller = WaitPoller(WaitState(instance_id=5, trigger_sent_at_ms=SENT))
    verdict = run_sync(poller.poll(), hook)
    assert hook.calls == [("GetTaskInstance", {"id": 5})] and verdict.state == Outcome.WAITING


def test_a_downstream_wait_reads_the_trigger_instance_until_it_is_released_then_only_the_downstream() -> None:
    hook = ScriptedHook(
        GetTaskInstance=[instance_body(5, Status="WaitTrigger"), instance_body(5, Status="Success")],
        ListDownstreamTaskInstances=downstream_page(task_instance_row(6, Status="Running")),
    )
    poller = WaitPoller(WaitState(instance_id=5, wait_for="downstream", trigger_sent_at_ms=SENT))
    first = run_sync(poller.poll(), hook)
    assert first.state == Outcome.WAITING and hook.actions == ["GetTaskInstance"] and not poller.state.released
    second = run_sync(poller.poll(), hook)
    assert second.state == Outcome.WAITING and poller.state.released
    assert hook.actions == ["GetTaskInstance", "GetTaskInstance", "ListDownstreamTaskInstances"]
    run_sync(poller.poll(), hook)  # released: 1 call a poll from now on
    assert hook.actions[3:] == ["ListDownstreamTaskInstances"]


def test_a_released_downstream_wait_costs_one_call_a_poll_from_the_start() -> None:
    hook = ScriptedHook(ListDownstreamTaskInstances=downstream_page(task_instance_row(6, Status="Success")))
    verdict = run_sync(WaitPoller(WaitState(instance_id=5, wait_for="downstream", released=True)).poll(), hook)
    assert verdict.state == Outcome.DONE and hook.calls == [
        ("ListDownstreamTaskInstances", {"id": 5, "page_number": 1, "page_size": 500})
    ]


def test_a_workflow_wait_learns_its_workflow_instance_from_the_trigger_instance_once() -> None:
    hook = ScriptedHook(
        GetTaskInstance=instance_body(5, Status="Running", WorkflowInstanceId=9001),
        GetWorkflowInstance=workflow_body(9001, "Running"),
    )
    poller = WaitPoller(WaitState(instance_id=5, wait_for="workflow", released=True))
    run_sync(poller.poll(), hook)
    assert hook.calls == [("GetTaskInstance", {"id": 5}), ("GetWorkflowInstance", {"id": 9001})]
    assert poller.state.workflow_instance_id == 9001 and poller.state.released
    run_sync(poller.poll(), hook)
    assert hook.actions[2:] == ["GetWorkflowInstance"]


def test_a_workflow_wait_on_an_instance_of_no_workflow_fails_naming_the_fix() -> None:
    hook = ScriptedHook(GetTaskInstance=instance_body(5, Status="Running", WorkflowInstanceId=None))
    poller = WaitPoller(WaitState(instance_id=5, wait_for="workflow", released=True))
    with pytest.raises(DataWorksError, match=r"instance 5 belongs to no workflow instance.*wait_for='downstream'"):
        run_sync(poller.poll(), hook)
    assert hook.actions == ["GetTaskInstance"]  # never GetWorkflowInstance(None)


def test_a_failed_workflow_costs_one_more_call_to_name_its_failed_members() -> None:
    members = instances_page(
        task_instance_row(6, TaskName="load_a", Status="Failure"),
        task_instance_row(7, TaskName="load_b", Status="Success"),
    )
    hook = ScriptedHook(GetWorkflowInstance=workflow_body(9001, "Failure"), ListTaskInstances=members)
    state = WaitState(instance_id=5, wait_for="workflow", released=True, workflow_instance_id=9001)
    verdict = run_sync(WaitPoller(state).poll(), hook)
    assert hook.actions == ["GetWorkflowInstance", "ListTaskInstances"]
    [listing] = hook.params_of("ListTaskInstances")
    assert (listing["project_id"], listing["bizdate"], listing["workflow_instance_id"]) == (
        1001,
        1_763_913_600_000,
        9001,
    )
    assert verdict.state == Outcome.FAILED and verdict.failed_ids == (6,) and "load_a) is Failure" in verdict.message


def test_a_failed_workflow_without_its_workspace_or_date_is_not_listed() -> None:
    hook = ScriptedHook(GetWorkflowInstance=workflow_body(9001, "Failure", ProjectId=None))
    state = WaitState(instance_id=5, wait_for="workflow", released=True, workflow_instance_id=9001)
    verdict = run_sync(WaitPoller(state).poll(), hook)
    assert hook.actions == ["GetWorkflowInstance"] and verdict.state == Outcome.FAILED and verdict.failed == ()


def test_a_resent_trigger_is_recorded_in_the_state_and_never_resent_again() -> None:
    lost = instance_body(5, WaitingTriggerTime=SENT + DAY + 1)
    hook = ScriptedHook(GetTaskInstance=lost)
    poller = WaitPoller(WaitState(instance_id=5, trigger_sent_at_ms=SENT))
    assert run_sync(poller.poll(), hook).state == Outcome.RETRIGGER
    poller.resent_trigger(SENT + DAY + 5)
    assert (poller.state.trigger_sent_at_ms, poller.state.resent) == (SENT + DAY + 5, True)
    assert run_sync(poller.poll(), hook).state == Outcome.WAITING
    assert len(hook.calls) == 2


def test_an_instance_is_described_with_its_time_in_the_zone() -> None:
    said = describe_instance(inst(Status="WaitTrigger", TriggerRecurrence="Skip"), "Asia/Shanghai")
    assert said == "instance 5 (release) scheduled at 2025-11-25 00:30:00 +08:00, status WaitTrigger, recurrence Skip"
    assert "scheduled at ?" in describe_instance(replace(inst(), trigger_time_ms=None), "Asia/Shanghai")
