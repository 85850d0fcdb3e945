"""The instance state machine: how instances move through their statuses as the emulated clock runs.

Instances progress lazily, each time the model is read (``advance``), so moving a frozen clock by a day is instant.
NotRun -> WaitTime (every upstream succeeded) -> WaitTrigger (a scheduled HTTP trigger instance, until a trigger
releases it) / WaitResource (a free slot of the workspace) -> Running -> Success or Failure (after the task's
duration); a dry run ends Success and a paused one Failure at its time. A trigger kept 24 hours unused is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from airflow_provider_dataworks.emulator.backend.entities import Instance, Task, Workspace
from airflow_provider_dataworks.emulator.backend.state import State
from airflow_provider_dataworks.emulator.backend.vocab import Status as S
from airflow_provider_dataworks.emulator.backend.vocab import TriggerRecurrence, parse

TRIGGER_RETENTION = timedelta(hours=24)


def advance(state: State) -> None:
    """Move every active instance forward to the clock's now, upstream before downstream."""
    now = state.now()
    order = sorted(
        state.active.values(),
        key=lambda i: (i.scheduled_day, state.tasks[i.task_id].rank, i.trigger_time, i.id),
    )
    for inst in order:
        settle(state, inst, now)


def settle(state: State, inst: Instance, now: datetime) -> None:
    """Move ``inst`` through as many statuses as ``now`` allows; a finished instance leaves the active ones."""
    task = state.tasks[inst.task_id]
    while not inst.frozen and not inst.status.is_terminal:
        step = _STEPS.get(inst.status)  # CheckingCondition / Checking: only set by hand, never move
        if step is None or not step(state, inst, task, now):
            break
    if inst.status.is_terminal:
        state.active.pop(inst.id, None)


def move(inst: Instance, status: S, at: datetime) -> None:
    """Put ``inst`` in ``status`` as of ``at`` (its ModifyTime)."""
    inst.status = status
    inst.modified_at = at


def _from_not_run(state: State, inst: Instance, task: Task, now: datetime) -> bool:
    """NotRun -> WaitTime once every upstream instance succeeded (at the last one's finish)."""
    ups = [state.instances[u] for u in inst.upstream_ids]
    ready = max([inst.created_at] + [u.finished_at or inst.created_at for u in ups])
    if any(u.status != S.SUCCESS for u in ups) or now < ready:
        _expire_kept_trigger(inst, now)
        return False
    inst.ready_at = ready
    move(inst, S.WAIT_TIME, ready)
    return True


def _from_wait_time(state: State, inst: Instance, task: Task, now: datetime) -> bool:
    """At the scheduled time: a dry run (Skip...) ends Success, a paused one (Pause...) Failure, else
    WaitTrigger (a scheduled HTTP trigger instance) / WaitResource."""
    assert inst.ready_at is not None
    at = max(inst.ready_at, inst.run_at or inst.trigger_time)
    if now < at:
        _expire_kept_trigger(inst, now)
        return False
    recurrence = parse(TriggerRecurrence, inst.recurrence, "recurrence")
    if recurrence.is_dry_run:
        inst.finished_at = at
        inst.releases += 1 if task.http_trigger else 0
        move(inst, S.SUCCESS, at)
    elif recurrence.is_paused:
        inst.finished_at = at
        move(inst, S.FAILURE, at)
    elif task.http_trigger and inst.workflow_instance_type == "Normal":
        inst.waiting_trigger_at = at
        move(inst, S.WAIT_TRIGGER, at)
    else:
        inst.waiting_resource_at = at
        move(inst, S.WAIT_RESOURCE, at)
    return True


def _from_wait_trigger(state: State, inst: Instance, task: Task, now: datetime) -> bool:
    """WaitTrigger -> WaitResource on a pending trigger; one kept more than 24 hours is dropped instead."""
    assert inst.waiting_trigger_at is not None
    pending = inst.pending_trigger_at
    if pending is None:
        return False
    if inst.waiting_trigger_at > pending + TRIGGER_RETENTION:
        _drop_trigger(inst)
        return False
    at = max(pending, inst.waiting_trigger_at)
    inst.pending_trigger_at = None
    inst.triggered_at = at
    inst.releases += 1
    inst.waiting_resource_at = at
    move(inst, S.WAIT_RESOURCE, at)
    return True


def _from_wait_resource(state: State, inst: Instance, task: Task, now: datetime) -> bool:
    """WaitResource -> Running after the workspace's ``resource_wait``, once a slot is free."""
    assert inst.waiting_resource_at is not None
    ws = state.workspaces[inst.workspace_id]
    start = _free_slot(state, ws, inst.waiting_resource_at + ws.resource_wait, inst)
    if now < start:
        return False
    inst.started_at = start
    move(inst, S.RUNNING, start)
    return True


def _from_running(state: State, inst: Instance, task: Task, now: datetime) -> bool:
    """Running -> the task's outcome after its duration."""
    assert inst.started_at is not None
    end = inst.started_at + task.duration
    if now < end:
        return False
    inst.finished_at = end
    move(inst, S.FAILURE if inst.run_number <= task.failing_runs else task.outcome, end)
    return True


#: One step of ``settle`` per status: moves the instance on and returns True, or returns False.
_STEPS: dict[S, Callable[[State, Instance, Task, datetime], bool]] = {
    S.NOT_RUN: _from_not_run,
    S.WAIT_TIME: _from_wait_time,
    S.WAIT_TRIGGER: _from_wait_trigger,
    S.WAIT_RESOURCE: _from_wait_resource,
    S.RUNNING: _from_running,
}


def _expire_kept_trigger(inst: Instance, now: datetime) -> None:
    """Drop a trigger kept more than 24 hours for an instance that is still not waiting for it at ``now``.

    (Checked only where the instance cannot move on, so one long clock jump keeps the order of events:
    an instance that became ready within the 24 hours consumes the trigger first.)
    """
    if inst.pending_trigger_at is not None and now > inst.pending_trigger_at + TRIGGER_RETENTION:
        _drop_trigger(inst)


def _drop_trigger(inst: Instance) -> None:
    inst.pending_trigger_at = None
    inst.dropped_triggers += 1


def _free_slot(state: State, ws: Workspace, at: datetime, inst: Instance) -> datetime:
    """The first moment from ``at`` at which fewer than ``resource_capacity`` instances run."""
    if ws.resource_capacity is None:
        return at
    while True:
        ends = [
            (o.finished_at or o.started_at + state.tasks[o.task_id].duration)
            for o in state.instances.values()
            if o.workspace_id == ws.id and o is not inst and o.started_at is not None and o.started_at <= at
        ]
        busy = [end for end in ends if end > at]
        if len(busy) < ws.resource_capacity:
            return at
        at = min(busy)
