"""What callers do to instances: trigger (release an HTTP trigger instance), stop, rerun, set success, suspend,
resume, and force a status (a test's control). Batch actions answer per instance: (done, why not).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime

from airflow_provider_dataworks.emulator.backend.entities import Instance
from airflow_provider_dataworks.emulator.backend.errors import ApiError
from airflow_provider_dataworks.emulator.backend.lifecycle import advance, move, settle
from airflow_provider_dataworks.emulator.backend.queries import find_instance, instance, workflow_status
from airflow_provider_dataworks.emulator.backend.state import State
from airflow_provider_dataworks.emulator.backend.vocab import RerunMode, TriggerRecurrence
from airflow_provider_dataworks.emulator.backend.vocab import Status as S

#: Per instance (or workflow instance) id: whether the action was done, and the message when it was not.
Outcome = dict[int, tuple[bool, str]]


def trigger(state: State, task_id: int, trigger_time_ms: int, env_type: str) -> Instance:
    """TriggerSchedulerTaskInstance: release a waiting HTTP-trigger instance.

    A trigger sent before WaitTrigger is kept (a newer one replaces it) and consumed there within 24 hours.
    A repeated trigger, or one for a dry-run or paused instance, has no effect (``Settings.repeat_trigger``
    says how it is answered); a frozen instance refuses it.
    """
    if not state.task(task_id).http_trigger:
        raise ApiError(400, "Invalid.Param", f"The task {task_id} is not an HTTP trigger node.")
    inst = find_instance(state, task_id, trigger_time_ms, env_type)
    if inst is None:
        raise ApiError(
            404,
            "Invalid.TaskInstance.NotFound",
            f"No {env_type} instance of task {task_id} is scheduled at TriggerTime {trigger_time_ms}.",
        )
    if inst.frozen:
        raise ApiError(
            400, "Forbidden.TaskInstance.Frozen", f"The task instance {inst.id} is frozen; resume it before triggering."
        )
    now = state.now()
    done_before = inst.triggered_at is not None or inst.status not in S.before_trigger()
    if done_before or inst.recurrence != TriggerRecurrence.NORMAL:
        inst.repeated_triggers += 1
        if state.settings.repeat_trigger == "error":
            raise ApiError(
                400,
                "Invalid.TaskInstance.AlreadyTriggered",
                f"The task instance {inst.id} is not waiting for a trigger (status {inst.status.value}).",
            )
        return inst
    inst.pending_trigger_at = now
    inst.accepted_triggers += 1
    settle(state, inst, now)
    return inst


def stop(state: State, ids: Iterable[int]) -> Outcome:
    """StopTaskInstances: each unfinished instance ends Failure now; its downstream then never run."""
    return _per_instance(state, ids, lambda inst, now: _stop_one(state, inst, now))


def stop_workflows(state: State, ids: Iterable[int]) -> Outcome:
    """StopWorkflowInstances: every unfinished member of each workflow instance is stopped (ends Failure), so
    nothing of it runs later; the workflow instance then reads Failure."""
    advance(state)
    now = state.now()
    result: Outcome = {}
    for wfi_id in (int(i) for i in ids):
        wfi = state.workflow_instances.get(wfi_id)
        if wfi is None:
            result[wfi_id] = (False, "The workflow instance does not exist.")
            continue
        unfinished = [state.instances[i] for i in wfi.instance_ids if not state.instances[i].status.is_terminal]
        if not unfinished:
            result[wfi_id] = (False, f"The workflow instance is already {workflow_status(state, wfi)[0].value}.")
            continue
        for inst in unfinished:
            _stop_one(state, inst, now)
        result[wfi_id] = (True, "")
    return result


def rerun(state: State, ids: Iterable[int], use_latest_config: bool | None = None) -> Outcome:
    """RerunTaskInstances: each finished instance its ``RerunMode`` allows runs again (its RunNumber + 1; the
    run before is kept in its history); its downstream follow. ``use_latest_config`` is recorded on it, and when
    true the instance takes its task's current rerun mode for later reruns."""

    def rerun_one(inst: Instance, now: datetime) -> str | None:
        refused = _rerun_refused(inst)
        if refused is None:
            inst.use_latest_config = use_latest_config
            if use_latest_config:
                inst.rerun_mode = state.tasks[inst.task_id].rerun_mode
            _run_again(state, inst, now)
        return refused

    return _per_instance(state, ids, rerun_one)


def set_success(state: State, ids: Iterable[int]) -> Outcome:
    """SetSuccessTaskInstances: each instance ends Success now."""
    return _per_instance(state, ids, lambda inst, now: force(state, inst, S.SUCCESS, now))


def suspend(state: State, ids: Iterable[int]) -> Outcome:
    """SuspendTaskInstances: each instance stays where it is (frozen) until resumed."""
    return _per_instance(state, ids, lambda inst, now: _freeze(inst, True))


def resume(state: State, ids: Iterable[int]) -> Outcome:
    """ResumeTaskInstances: each frozen instance moves on again."""
    return _per_instance(state, ids, lambda inst, now: _freeze(inst, False))


def set_status(state: State, instance_id: int, status: str) -> Instance:
    """Force an instance into ``status`` now (test control, not an API operation)."""
    inst = instance(state, instance_id)
    force(state, inst, S(status), state.now())
    return inst


def force(state: State, inst: Instance, status: S, now: datetime) -> None:
    """Put ``inst`` in ``status`` now, with the times that status implies; a finished one leaves the active ones."""
    if status.is_terminal:
        inst.started_at = inst.started_at or now
        inst.finished_at = now
        state.active.pop(inst.id, None)
    else:
        inst.finished_at = None
        state.active[inst.id] = inst
        if status == S.RUNNING:
            inst.started_at = now
        elif status == S.WAIT_TRIGGER:
            inst.waiting_trigger_at = now
        elif status == S.WAIT_RESOURCE:
            inst.waiting_resource_at = now
        elif status == S.WAIT_TIME:
            inst.ready_at = inst.ready_at or now
    move(inst, status, now)


def _per_instance(state: State, ids: Iterable[int], action: Callable[[Instance, datetime], str | None]) -> Outcome:
    """Apply ``action`` (None: done, else why not) to each instance of ``ids`` as of now."""
    advance(state)
    now = state.now()
    result: Outcome = {}
    for instance_id in ids:
        inst = state.instances.get(int(instance_id))
        if inst is None:
            result[int(instance_id)] = (False, "The task instance does not exist.")
            continue
        message = action(inst, now)
        result[inst.id] = (message is None, message or "")
    return result


def _stop_one(state: State, inst: Instance, now: datetime) -> str | None:
    if inst.status.is_terminal:
        return f"The task instance is already {inst.status.value}."
    inst.pending_trigger_at = None  # a kept trigger goes with it: a stopped instance is never released
    inst.finished_at = now
    move(inst, S.FAILURE, now)
    state.active.pop(inst.id, None)
    return None


def _rerun_refused(inst: Instance) -> str | None:
    """Why ``inst`` may not be rerun now (None: it may)."""
    if not inst.status.is_terminal:
        return f"Only a finished instance can be rerun; it is {inst.status.value}."
    mode = inst.rerun_mode
    if mode == RerunMode.ALL_DENIED:
        return "The task instance cannot be rerun: its RerunMode is AllDenied (no rerun, failed or succeeded)."
    if mode == RerunMode.FAILURE_ALLOWED and inst.status == S.SUCCESS:
        return "The task instance cannot be rerun: its RerunMode is FailureAllowed and it succeeded."
    return None


def _run_again(state: State, inst: Instance, now: datetime) -> None:
    """Start the next run of ``inst`` (the current one goes to its history)."""
    inst.history.append(replace(inst, history=[], upstream_ids=[], downstream_ids=[]))
    inst.run_number += 1
    inst.ready_at = inst.started_at = inst.finished_at = None
    inst.waiting_trigger_at = inst.waiting_resource_at = None
    inst.created_at = max(inst.created_at, now)
    if state.tasks[inst.task_id].http_trigger:
        inst.triggered_at = None
    move(inst, S.NOT_RUN, now)
    state.active[inst.id] = inst
    settle(state, inst, now)


def _freeze(inst: Instance, frozen: bool) -> str | None:
    inst.frozen = frozen
    return None
