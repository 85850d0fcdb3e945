"""Exactly one trigger: what the operator sends for the instance it found, and after a failed trigger call
(``DataWorksTriggerOperator._act_on``), on a fake hook. The operator is built outside a DAG: no Airflow database,
no server.

The same through the SDK, the emulator's injected faults and dag.test() are in
tests/reliability/test_reliability_faults.py, tests/reliability/test_exactly_once.py and
tests/integration/test_dags.py.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_dataworks.domain.api_records import TaskInstance
from airflow_provider_dataworks.domain.run_target import RunTarget
from airflow_provider_dataworks.exceptions import (
    DataWorksApiError,
    InstanceFailedError,
    InstanceNotReleasableError,
)
from tests.unit.fake_hook import ScriptedHook, instance_body, task_instance_row

T_0030 = 1_764_001_800_000
TARGET = RunTarget(700001, T_0030, "data_interval_end", "Asia/Shanghai", "Prod", 1001, "cn-hangzhou")
TRIGGER = "TriggerSchedulerTaskInstance"
OK = {"Success": True}


def api_error(code: str, status: int | None) -> DataWorksApiError:
    return DataWorksApiError(TRIGGER, code, "m", status)


class OperatorHook(ScriptedHook):
    """The fake hook with the connection's ``retry_limit`` (the operator's trigger sends at most that many)."""

    settings = SimpleNamespace(retry_limit=3)


def act_on(hook: OperatorHook, **fields: Any) -> tuple[int | None, bool]:
    """The operator's step for the run's instance 5 (waiting for its trigger unless ``fields`` say otherwise)."""
    from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator

    op = DataWorksTriggerOperator(task_id="release", dataworks_task_id=700001)
    op.__dict__["hook"] = hook
    return op._act_on(TaskInstance.from_api(task_instance_row(5, **fields)), TARGET)


@pytest.mark.parametrize(("status", "released"), [("WaitTrigger", True), ("NotRun", False), ("WaitTime", False)])
def test_an_instance_before_its_trigger_costs_one_trigger_call(status: str, released: bool) -> None:
    """Sent while upstream still runs, DataWorks keeps the trigger: the wait first watches for the release."""
    hook = OperatorHook(TriggerSchedulerTaskInstance=OK)
    sent_at, is_released = act_on(hook, Status=status)
    assert hook.actions == [TRIGGER] and sent_at is not None and is_released is released
    [params] = hook.params_of(TRIGGER)
    assert (params["task_id"], params["trigger_time"], params["env_type"]) == (700001, T_0030, "Prod")


@pytest.mark.parametrize("status", ["WaitResource", "Running", "Success", "Checking"])
def test_an_instance_past_its_trigger_is_never_triggered_again(status: str) -> None:
    hook = OperatorHook()
    assert act_on(hook, Status=status) == (None, True) and hook.calls == []


def test_a_dry_run_is_left_to_dataworks() -> None:
    hook = OperatorHook()
    assert act_on(hook, TriggerRecurrence="SkipCycle") == (None, True) and hook.calls == []


@pytest.mark.parametrize(
    ("fields", "error"),
    [({"Status": "Failure"}, InstanceFailedError), ({"TriggerRecurrence": "Pause"}, InstanceNotReleasableError)],
)
def test_a_failed_or_paused_instance_is_not_triggered(fields: dict, error: type) -> None:
    hook = OperatorHook()
    with pytest.raises(error):
        act_on(hook, **fields)
    assert hook.calls == []


@pytest.mark.parametrize(
    "err", [api_error("InternalError", 500), api_error("NoAnswer", None)], ids=["5xx", "no answer"]
)
def test_after_an_ambiguous_failure_one_read_shows_the_trigger_took_effect(err: DataWorksApiError) -> None:
    hook = OperatorHook(TriggerSchedulerTaskInstance=err, GetTaskInstance=instance_body(5, Status="Running"))
    sent_at, released = act_on(hook)
    assert hook.actions == [TRIGGER, "GetTaskInstance"] and released and sent_at is not None


def test_after_an_ambiguous_failure_a_still_waiting_instance_is_triggered_again() -> None:
    hook = OperatorHook(
        TriggerSchedulerTaskInstance=[api_error("NoAnswer", None), OK],
        GetTaskInstance=instance_body(5, Status="WaitTrigger"),
    )
    assert act_on(hook)[1] and hook.actions == [TRIGGER, "GetTaskInstance", TRIGGER]


def test_the_trigger_is_sent_at_most_retry_limit_times() -> None:
    hook = OperatorHook(
        TriggerSchedulerTaskInstance=api_error("InternalError", 500),
        GetTaskInstance=instance_body(5, Status="WaitTrigger"),
    )
    with pytest.raises(DataWorksApiError, match="InternalError"):
        act_on(hook)
    assert hook.actions == [TRIGGER, "GetTaskInstance"] * 3  # retry_limit=3


def test_the_daily_quota_is_raised_at_once_for_the_task_to_wait_for_its_reset() -> None:
    """The refused call did not take effect: no read, no second send."""
    hook = OperatorHook(TriggerSchedulerTaskInstance=api_error("Throttling.Api.Risk", 429))
    with pytest.raises(DataWorksApiError) as raised:
        act_on(hook)
    assert raised.value.daily_quota and hook.actions == [TRIGGER]


def test_a_refusal_that_does_not_pass_is_raised_after_one_read() -> None:
    hook = OperatorHook(
        TriggerSchedulerTaskInstance=api_error("Forbidden.Access", 403),
        GetTaskInstance=instance_body(5, Status="WaitTrigger"),
    )
    with pytest.raises(DataWorksApiError, match=r"Forbidden\.Access"):
        act_on(hook)
    assert hook.actions == [TRIGGER, "GetTaskInstance"]
