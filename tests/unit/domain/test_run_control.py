"""Cancel and repair choices (domain/run_control.py): what a cancel stops, in which calls, and what a repair reruns.

The same through the SDK, the emulator and dag.test() (timeouts, on_kill, the triggerer) are in
tests/integration/test_control_plane.py; rerun refusals by RerunMode are in test_instance_choice.py.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest

from airflow_provider_dataworks.domain import run_control as control
from airflow_provider_dataworks.domain.api_calls import BatchOutcome
from airflow_provider_dataworks.domain.api_records import TaskInstance, WorkflowInstance
from airflow_provider_dataworks.domain.hook_calls import run_sync
from airflow_provider_dataworks.domain.run_control import Stopped, cancel, rerunnable
from airflow_provider_dataworks.domain.waiting import judge_downstream, judge_workflow
from airflow_provider_dataworks.exceptions import DataWorksApiError
from tests.unit.fake_hook import (
    ScriptedHook,
    downstream_page,
    instance_body,
    task_instance_row,
    workflow_body,
)

STOP = ("StopTaskInstances", "StopWorkflowInstances")


def hook_with(status: str, **script: Any) -> ScriptedHook:
    """The HTTP-trigger instance 5 (workflow instance 9001) in ``status``; the stops succeed for what is sent."""
    everything = {"SuccessInfo": {str(i): {"Success": True} for i in (5, 6, 7, 8, 9001, 9002)}}
    return ScriptedHook(
        GetTaskInstance=instance_body(5, Status=status),
        StopTaskInstances=everything,
        StopWorkflowInstances=everything,
        **script,
    )


# ------------------------------------------------------------------------------------------- what a cancel stops
@pytest.mark.parametrize("wait_for", ["instance", "downstream", "workflow"])
@pytest.mark.parametrize("status", ["NotRun", "WaitTime", "WaitTrigger"])
def test_a_cancel_before_the_release_stops_only_the_trigger_instance(wait_for: str, status: str) -> None:
    hook = hook_with(status)
    stopped = run_sync(cancel(5, wait_for, 9001), hook)
    assert hook.actions == ["GetTaskInstance", "StopTaskInstances"]
    assert hook.params_of("StopTaskInstances") == [{"ids": [5], "comment": control.CANCEL_COMMENT}]
    assert stopped.what == "the HTTP-trigger instance (not released yet)" and stopped.outcome is not None


@pytest.mark.parametrize("status", ["WaitResource", "CheckingCondition", "Running", "Checking"])
def test_a_cancel_of_a_wait_on_the_running_instance_stops_it(status: str) -> None:
    hook = hook_with(status)
    stopped = run_sync(cancel(5, "instance"), hook)
    assert hook.actions == ["GetTaskInstance", "StopTaskInstances"] and stopped.what == "the HTTP-trigger instance"


@pytest.mark.parametrize("wait_for", ["instance", "downstream", "workflow"])
def test_a_failed_trigger_instance_released_nothing_so_nothing_is_stopped(wait_for: str) -> None:
    hook = hook_with("Failure")
    stopped = run_sync(cancel(5, wait_for, 9001), hook)
    assert hook.actions == ["GetTaskInstance"] and stopped.outcome is None
    assert stopped.describe() == "nothing to stop: instance 5 is in Failure and released nothing."


def test_a_cancel_of_a_finished_instance_wait_stops_nothing() -> None:
    hook = hook_with("Success")
    assert run_sync(cancel(5, "instance"), hook) == Stopped("instance 5 is Success")
    assert hook.actions == ["GetTaskInstance"]


def test_a_cancel_of_a_downstream_wait_stops_only_the_unfinished_downstream() -> None:
    rows = [
        task_instance_row(6, Status="Running"),
        task_instance_row(7, Status="Success"),
        task_instance_row(8, Status="NotRun"),
        task_instance_row(10, Status="Failure"),
    ]
    hook = hook_with("Success", ListDownstreamTaskInstances=downstream_page(*rows))
    stopped = run_sync(cancel(5, "downstream"), hook)
    assert hook.actions == ["GetTaskInstance", "ListDownstreamTaskInstances", "StopTaskInstances"]
    assert hook.params_of("StopTaskInstances")[0]["ids"] == [6, 8]
    assert stopped.what == "downstream instances" and stopped.outcome == BatchOutcome((6, 8), {})


def test_a_cancel_of_a_finished_downstream_costs_two_calls_and_stops_nothing() -> None:
    hook = hook_with("Success", ListDownstreamTaskInstances=downstream_page(task_instance_row(6, Status="Success")))
    stopped = run_sync(cancel(5, "downstream"), hook)
    assert hook.actions == ["GetTaskInstance", "ListDownstreamTaskInstances"]
    assert stopped == Stopped("every downstream instance of 5 has finished")


@pytest.mark.parametrize(("given", "stopped_id"), [(None, 9001), (9002, 9002)])
def test_a_cancel_of_a_workflow_wait_stops_the_workflow_instance(given: int | None, stopped_id: int) -> None:
    """The wait's own workflow instance id wins over the one the instance names."""
    hook = hook_with("Running")
    stopped = run_sync(cancel(5, "workflow", given), hook)
    assert hook.actions == ["GetTaskInstance", "StopWorkflowInstances"]
    assert hook.params_of("StopWorkflowInstances") == [{"ids": [stopped_id], "comment": control.CANCEL_COMMENT}]
    assert stopped.what == "workflow instance"


def test_a_cancel_of_a_workflow_wait_without_a_workflow_instance_stops_nothing() -> None:
    hook = ScriptedHook(GetTaskInstance=instance_body(5, Status="Success", WorkflowInstanceId=None))
    assert run_sync(cancel(5, "workflow"), hook) == Stopped("instance 5 belongs to no workflow instance")
    assert hook.actions == ["GetTaskInstance"]


@pytest.mark.parametrize(
    ("stopped", "said"),
    [
        (Stopped("downstream instances", BatchOutcome((6, 8), {})), "stopped downstream instances 6, 8."),
        (
            Stopped("downstream instances", BatchOutcome((6,), {7: "already Success"})),
            "stopped downstream instances 6; DataWorks refused 7: already Success.",
        ),
        (
            Stopped("workflow instance", BatchOutcome((), {9001: "already Failure"})),
            "stopped nothing of workflow instance; DataWorks refused 9001: already Failure.",
        ),
        (Stopped("instance 5 is Success"), "nothing to stop: instance 5 is Success."),
    ],
)
def test_a_cancel_says_what_it_stopped_and_what_dataworks_refused(stopped: Stopped, said: str) -> None:
    assert stopped.describe() == said


# ------------------------------------------------------------------------------------------ where a cancel runs
class Log:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, message: str, *args: Any) -> None:
        self.warnings.append(message % args)


def test_a_cancel_in_the_worker_logs_what_it_stopped() -> None:
    log = Log()
    stopped = control.cancel_in_worker(hook_with("WaitTrigger"), log, 5.0, instance_id=5, wait_for="workflow")
    assert stopped is not None and stopped.outcome is not None and stopped.outcome.done == (5,)
    assert log.warnings == ["cancel_on_kill: stopped the HTTP-trigger instance (not released yet) 5."]


def test_a_cancel_in_the_worker_that_fails_never_raises() -> None:
    hook = ScriptedHook(GetTaskInstance=DataWorksApiError("GetTaskInstance", "Forbidden.Access", "no", 403))
    log = Log()
    assert control.cancel_in_worker(hook, log, 5.0, instance_id=5, wait_for="instance") is None
    assert len(log.warnings) == 1 and "stopping failed" in log.warnings[0] and "Forbidden.Access" in log.warnings[0]


def test_a_cancel_in_the_worker_gives_up_at_its_bound() -> None:
    """DataWorks does not answer: the worker goes on after ``within_s`` (the call stays on its helper thread)."""
    answer = threading.Event()

    class Hanging(ScriptedHook):
        def get_instance(self, instance_id: int) -> TaskInstance:
            answer.wait(10)
            return super().get_instance(instance_id)

    log = Log()
    try:
        hook = Hanging(GetTaskInstance=instance_body(5, Status="Success"))
        assert control.cancel_in_worker(hook, log, 0.05, instance_id=5, wait_for="instance") is None
    finally:
        answer.set()
    assert log.warnings == [
        "cancel_on_kill: DataWorks did not answer within 0 s; what was released may keep running: check it in the "
        "console."
    ]


class AsyncHook:
    """The ``a``-prefixed twins of a scripted hook (what run_async calls)."""

    def __init__(self, hook: ScriptedHook, hang: asyncio.Event | None = None) -> None:
        self.hook, self.hang = hook, hang

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.hook, name[1:])

        async def twin(*args: Any, **kwargs: Any) -> Any:
            if self.hang is not None:
                await self.hang.wait()
            return method(*args, **kwargs)

        return twin


def test_a_cancel_in_the_triggerer_runs_the_same_calls() -> None:
    hook = hook_with("Running")
    log = Log()
    stopped = asyncio.run(control.cancel_in_triggerer(AsyncHook(hook), log, instance_id=5, wait_for="workflow"))
    assert stopped is not None and hook.actions == ["GetTaskInstance", "StopWorkflowInstances"]
    assert log.warnings == ["cancel_on_kill: stopped workflow instance 9001."]


def test_a_cancel_in_the_triggerer_gives_up_at_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(control, "CANCEL_TIMEOUT_S", 0.01)
    log = Log()

    async def run() -> Stopped | None:
        hook = AsyncHook(hook_with("Running"), hang=asyncio.Event())
        return await control.cancel_in_triggerer(hook, log, instance_id=5, wait_for="workflow")

    assert asyncio.run(run()) is None and "did not answer within" in log.warnings[0]


def test_a_cancel_in_the_triggerer_that_fails_never_raises() -> None:
    hook = ScriptedHook(GetTaskInstance=DataWorksApiError("GetTaskInstance", "InternalError", "boom", 500))
    log = Log()
    assert asyncio.run(control.cancel_in_triggerer(AsyncHook(hook), log, instance_id=5, wait_for="workflow")) is None
    assert "stopping failed" in log.warnings[0]


def test_the_cancel_bounds_fit_airflows_own() -> None:
    """A worker's on_kill: Airflow 3.3 kills 5 s after SIGTERM; the triggerer's on_kill_timeout is 30 s."""
    assert control.ON_KILL_TIMEOUT_S < 5 and control.CANCEL_TIMEOUT_S < 30


def test_a_logger_takes_the_outcome_too(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        control.cancel_in_worker(hook_with("Success"), logging.getLogger("t"), 5.0, instance_id=5, wait_for="instance")
    assert "cancel_on_kill: nothing to stop: instance 5 is Success." in caplog.text


# -------------------------------------------------------------------------------------------- what a repair reruns
def failed(ident: int, **fields: Any) -> TaskInstance:
    return TaskInstance.from_api(task_instance_row(ident, Status="Failure", **fields))


def test_a_repair_of_a_workflow_reruns_its_failed_members_not_the_trigger_instance() -> None:
    wf = WorkflowInstance.from_api(workflow_body(9001, "Failure")["WorkflowInstance"])
    verdict = judge_workflow(wf, [failed(5), failed(6), failed(7)])
    assert [i.id for i in rerunnable(verdict, trigger_instance_id=5)] == [6, 7]


def test_a_repair_has_nothing_to_rerun_when_only_the_trigger_instance_failed() -> None:
    assert rerunnable(judge_downstream([failed(5)]), trigger_instance_id=5) == ()


def test_a_repair_of_a_finished_or_waiting_target_reruns_nothing() -> None:
    ok = TaskInstance.from_api(task_instance_row(6, Status="Success"))
    assert rerunnable(judge_downstream([ok]), 5) == ()
    assert rerunnable(judge_downstream([TaskInstance.from_api(task_instance_row(6, Status="Running"))]), 5) == ()
