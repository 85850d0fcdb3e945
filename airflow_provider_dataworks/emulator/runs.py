"""Instances besides the scheduled ones: a data backfill, manual run, smoke test or triggered workflow of a node.

Each is a new workflow instance (its ``Type`` the run's ``WorkflowInstanceType``) holding one instance of the node
for one scheduled day: the day's scheduled ``TriggerTime`` and ``Bizdate``, so it shares TaskId and TriggerTime
with the scheduled (``Normal``) instance and ListTaskInstances of that business date lists both. Rules (README):

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
from typing import TYPE_CHECKING

from airflow_provider_dataworks.domain.timing import to_epoch_ms
from airflow_provider_dataworks.emulator.cycles import scheduled_recurrence
from airflow_provider_dataworks.emulator.schedule import ScheduledRun, daily_runs
from airflow_provider_dataworks.emulator.vocab import MANUAL_TYPES, TriggerRecurrence, WorkflowInstanceType, parse

if TYPE_CHECKING:
    from airflow_provider_dataworks.emulator.backend import Backend, Instance, Task


def _scheduled_run(backend: Backend, task: Task, at_ms: int) -> tuple[int, ScheduledRun]:
    """(period number, run) of ``task`` scheduled at ``at_ms``, on any day (in or outside its cycle)."""
    ws = backend.workspaces[task.workspace_id]
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
    backend: Backend, task_id: int, at_ms: int, workflow_instance_type: str, status: str | None
) -> Instance:
    """Create the run (caller holds the backend's lock); it then progresses like any instance, or is set to
    ``status`` at once when given."""
    kind = parse(WorkflowInstanceType, workflow_instance_type, "workflow_instance_type")
    if kind == WorkflowInstanceType.NORMAL:
        raise ValueError("Normal instances are the scheduled ones DataWorks generates; pick another instance type")
    task = backend.task(task_id)
    period, run = _scheduled_run(backend, task, at_ms)
    ws = backend.workspaces[task.workspace_id]
    day = run.scheduled_at.astimezone(ws.zone).date()
    now = backend.now()
    manual = kind.value in MANUAL_TYPES
    manual_task = task.recurrence == TriggerRecurrence.MANUAL
    if manual:
        recurrence = TriggerRecurrence.MANUAL
    elif kind == WorkflowInstanceType.SMOKE_TEST or manual_task:
        recurrence = TriggerRecurrence.NORMAL
    else:
        recurrence = scheduled_recurrence(task.recurrence, run, day, task.calendar)
    wfi = backend.new_workflow_instance(task.workflow_id, ws, day, kind.value, now)
    inst = backend.new_instance(task, wfi, run.scheduled_at, period, recurrence, now)
    inst.trigger_type = "Manual" if manual or manual_task else "Scheduler"
    if manual or kind == WorkflowInstanceType.SMOKE_TEST:
        inst.run_at = now
    if status is not None:
        return backend.set_status(inst.id, status)
    backend.advance()
    return inst
