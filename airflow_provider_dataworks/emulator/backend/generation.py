"""Instance generation: the scheduled instances DataWorks creates from each task's cron, day by day.

A scheduled day's instances appear at ``Settings.generation_time`` the evening before (T+1), or at deploy time for
an ``Immediately`` task deployed that day; each in the day's scheduled (``Normal``) workflow instance, linked to
its upstreams' instances of the same day. Which instances a cron gives a day is ``schedule.py``'s; how each runs
(its recurrence) ``recurrence.py``'s.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from airflow_provider_dataworks.domain.timing import to_epoch_ms
from airflow_provider_dataworks.emulator.backend.entities import Instance, Task, WorkflowInstance, Workspace
from airflow_provider_dataworks.emulator.backend.recurrence import scheduled_recurrence
from airflow_provider_dataworks.emulator.backend.schedule import bizdate_of, daily_runs
from airflow_provider_dataworks.emulator.backend.state import State
from airflow_provider_dataworks.emulator.backend.vocab import TriggerRecurrence


def generation_time(state: State, ws: Workspace, day: date) -> datetime:
    """When the instances of scheduled day ``day`` are generated (T+1: the evening before)."""
    return datetime.combine(day - timedelta(days=1), state.settings.generation_time, tzinfo=ws.zone)


def ensure_day(state: State, ws: Workspace, day: date) -> None:
    """Generate the instances of ``ws``'s scheduled day ``day`` once it is due (upstream tasks first)."""
    if (ws.id, day) in state.generated_days:
        return
    immediate = [
        t
        for t in state.tasks.values()
        if t.workspace_id == ws.id
        and t.instance_mode == "Immediately"
        and t.deployed_at is not None
        and t.deployed_at.astimezone(ws.zone).date() == day
    ]
    if state.now() < generation_time(state, ws, day) and not immediate:
        return
    state.generated_days.add((ws.id, day))
    for task in sorted((t for t in state.tasks.values() if t.workspace_id == ws.id), key=lambda t: t.rank):
        generate(state, task, day)


def generate(state: State, task: Task, day: date) -> None:
    """Create ``task``'s instances of scheduled day ``day`` (if due) and link them to their upstreams.

    Only tasks deployed before ``generation_time`` get the day, except that an ``Immediately`` task gets
    the rest of its deploy day. A weekly / monthly node gets an instance every day (``SkipCycle`` dry runs
    outside its cycle); a ``Manual`` task none (it is not scheduled).
    """
    ws = state.workspaces[task.workspace_id]
    gen_at = generation_time(state, ws, day)
    if task.recurrence == TriggerRecurrence.MANUAL:
        return
    runs = daily_runs(task.schedule, day, ws.timezone)
    if task.deployed_at is not None and task.deployed_at >= gen_at:
        immediate = task.instance_mode == "Immediately" and task.deployed_at.astimezone(ws.zone).date() == day
        if not immediate or state.now() < task.deployed_at:
            return
        runs = [r for r in runs if r.scheduled_at > task.deployed_at]
        gen_at = task.deployed_at
    if any((task.id, to_epoch_ms(r.scheduled_at)) in state.scheduled_instance_of for r in runs):
        return
    wfi = _scheduled_workflow_instance(state, task.workflow_id, ws, day)
    created = []
    for period, run in enumerate(runs, start=1):
        recurrence = scheduled_recurrence(task.recurrence, run, day, task.calendar)
        inst = new_instance(state, task, wfi, run.scheduled_at, period, recurrence, gen_at)
        state.scheduled_instance_of[(task.id, to_epoch_ms(run.scheduled_at))] = inst.id
        created.append(inst)
    _link_upstream(state, task, created, day)


def new_instance(
    state: State,
    task: Task,
    wfi: WorkflowInstance,
    at: datetime,
    period: int,
    recurrence: TriggerRecurrence,
    created: datetime,
) -> Instance:
    """Add one active instance of ``task`` scheduled ``at`` to workflow instance ``wfi``."""
    inst = Instance(
        id=next(state.instance_ids),
        task_id=task.id,
        workspace_id=task.workspace_id,
        workflow_instance_id=wfi.id,
        scheduled_day=wfi.scheduled_day,
        trigger_time=at,
        bizdate=wfi.bizdate,
        period_number=period,
        recurrence=recurrence,
        created_at=created,
        modified_at=created,
        workflow_instance_type=wfi.type,
        rerun_mode=task.rerun_mode,
    )
    state.instances[inst.id] = inst
    state.active[inst.id] = inst
    wfi.instance_ids.append(inst.id)
    return inst


def _link_upstream(state: State, task: Task, created: list[Instance], day: date) -> None:
    """An instance depends on the upstream's scheduled instance with the same period number when both tasks
    have as many that day, else on all of them (never on another day's, nor on a backfill's or manual run's)."""
    for up_task_id in task.upstream:
        ups = sorted(
            (
                i
                for i in state.instances.values()
                if i.task_id == up_task_id and i.scheduled_day == day and i.workflow_instance_type == "Normal"
            ),
            key=lambda i: i.trigger_time,
        )
        for inst in created:
            linked = [ups[inst.period_number - 1]] if len(ups) == len(created) else ups
            for up in linked:
                inst.upstream_ids.append(up.id)
                up.downstream_ids.append(inst.id)


def _scheduled_workflow_instance(state: State, workflow_id: int, ws: Workspace, day: date) -> WorkflowInstance:
    """The scheduled (``Normal``) workflow instance of ``workflow_id`` and ``day``, created when first needed."""
    key = (workflow_id, day)
    if key not in state.scheduled_workflow_instance_of:
        wfi = new_workflow_instance(state, workflow_id, ws, day, "Normal", generation_time(state, ws, day))
        state.scheduled_workflow_instance_of[key] = wfi.id
    return state.workflow_instances[state.scheduled_workflow_instance_of[key]]


def new_workflow_instance(
    state: State, workflow_id: int, ws: Workspace, day: date, kind: str, created: datetime
) -> WorkflowInstance:
    """A new workflow instance of type ``kind`` for scheduled day ``day``."""
    wfi = WorkflowInstance(
        next(state.workflow_instance_ids), workflow_id, ws.id, day, bizdate_of(day, ws.timezone), created, type=kind
    )
    state.workflow_instances[wfi.id] = wfi
    return wfi
