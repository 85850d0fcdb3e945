"""Instances besides the scheduled ones: a data backfill, manual run, smoke test or triggered workflow of a node.

Each is a new workflow instance (its ``Type`` the run's ``WorkflowInstanceType``) holding one instance of the node
for one scheduled day: the day's scheduled ``TriggerTime`` and ``Bizdate``, so it shares TaskId and TriggerTime
with the scheduled (``Normal``) instance and ListTaskInstances of that business date lists both. Rules
(docs/reference/emulator-fidelity.md):

- It has no upstream and no downstream links, and it never waits for a trigger, even on an HTTP trigger node
  (DataWorks releases backfill instances itself; ``TriggerSchedulerTaskInstance`` names the scheduled one).
- A backfill (``SupplementData``) or ``TriggerWorkflow`` run waits for its scheduled time (a past day runs at once)
  and takes the day's recurrence as the scheduled instance would (a weekly node's other days are ``SkipCycle`` dry
  runs, calendars apply); a manual run (``Manual``, ``ManualWorkflow``, ``ManualFlow``) or ``SmokeTest`` starts
  when created and runs (``Manual`` / ``Normal`` recurrence).
- ``TriggerType`` is the node's trigger type (the SDK: "obtain it from GetTask's Trigger.Type"): ``Scheduler`` for
  a backfill, smoke test or triggered workflow of a scheduled node; ``Manual`` for the manual kinds and for any run
  of a ``Manual`` task.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow_provider_dataworks.domain.timing import to_epoch_ms
from airflow_provider_dataworks.emulator.backend.entities import Instance, Task
from airflow_provider_dataworks.emulator.backend.generation import new_instance, new_workflow_instance
from airflow_provider_dataworks.emulator.backend.instance_actions import set_status
from airflow_provider_dataworks.emulator.backend.lifecycle import advance
from airflow_provider_dataworks.emulator.backend.recurrence import scheduled_recurrence
from airflow_provider_dataworks.emulator.backend.schedule import ScheduledRun, daily_runs
from airflow_provider_dataworks.emulator.backend.state import State
from airflow_provider_dataworks.emulator.backend.vocab import (
    MANUAL_TYPES,
    TriggerRecurrence,
    WorkflowInstanceType,
    parse,
)


def _scheduled_run(state: State, task: Task, at_ms: int) -> tuple[int, ScheduledRun]:
    """(period number, run) of ``task`` scheduled at ``at_ms``, on any day (in or outside its cycle)."""
    ws = state.workspaces[task.workspace_id]
    local = datetime.fromtimestamp(at_ms / 1000, tz=timezone.utc).astimezone(ws.zone)
    for day in (local.date(), local.date() - timedelta(days=1)):  # a DST-delayed run can cross midnight
        for period, run in enumerate(daily_runs(task.schedule, day, ws.timezone), start=1):
            if to_epoch_ms(run.scheduled_at) == at_ms:
                return period, run
    raise ValueError(
        f"task {task.id} ({task.schedule.expression} in {ws.timezone}) is not scheduled at {local.isoformat()}: "
        "pass the scheduled TriggerTime of the day the run covers"
    )


def add_instance_run(
    state: State, task_id: int, at_ms: int, workflow_instance_type: str, status: str | None
) -> Instance:
    """Create the run; it then progresses like any instance, or is set to ``status`` at once when given."""
    kind = parse(WorkflowInstanceType, workflow_instance_type, "workflow_instance_type")
    if kind == WorkflowInstanceType.NORMAL:
        raise ValueError("Normal instances are the scheduled ones DataWorks generates; pick another instance type")
    task = state.task(task_id)
    period, run = _scheduled_run(state, task, at_ms)
    ws = state.workspaces[task.workspace_id]
    day = run.scheduled_at.astimezone(ws.zone).date()
    now = state.now()
    manual = kind.value in MANUAL_TYPES
    manual_task = task.recurrence == TriggerRecurrence.MANUAL
    if manual:
        recurrence = TriggerRecurrence.MANUAL
    elif kind == WorkflowInstanceType.SMOKE_TEST or manual_task:
        recurrence = TriggerRecurrence.NORMAL
    else:
        recurrence = scheduled_recurrence(task.recurrence, run, day, task.calendar)
    wfi = new_workflow_instance(state, task.workflow_id, ws, day, kind.value, now)
    inst = new_instance(state, task, wfi, run.scheduled_at, period, recurrence, now)
    inst.trigger_type = "Manual" if manual or manual_task else "Scheduler"
    if manual or kind == WorkflowInstanceType.SMOKE_TEST:
        inst.run_at = now
    if status is not None:
        return set_status(state, inst.id, status)
    advance(state)
    return inst
