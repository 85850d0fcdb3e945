"""Setting up the scenario: workspaces, workflows and deployed tasks, with the checks DataWorks would make.

A task deployed into a workspace whose days were generated already gets its instances of those days at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from airflow_provider_dataworks.domain.regions import region_timezone, validate_timezone
from airflow_provider_dataworks.emulator.backend.access import known_account
from airflow_provider_dataworks.emulator.backend.entities import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    Task,
    Workflow,
    Workspace,
)
from airflow_provider_dataworks.emulator.backend.generation import generate
from airflow_provider_dataworks.emulator.backend.recurrence import SchedulingCalendar
from airflow_provider_dataworks.emulator.backend.schedule import parse_cron
from airflow_provider_dataworks.emulator.backend.state import State
from airflow_provider_dataworks.emulator.backend.vocab import RerunMode, TriggerRecurrence, parse
from airflow_provider_dataworks.emulator.backend.vocab import Status as S

HTTP_TRIGGER_TYPE = "SCHEDULER_TRIGGER"


@dataclass(frozen=True)
class TaskOptions:
    """How a task is deployed (``add_task``'s keyword arguments). ``cron`` is read in the workspace zone.

    ``failing_runs``: the first N runs of each of its instances fail (a rerun after them ends in ``outcome``).
    ``recurrence``: any official ``TriggerRecurrence`` (``Manual``: a manual task, no scheduled instances).
    ``rerun_mode``: ``AllAllowed`` / ``FailureAllowed`` / ``AllDenied``. ``calendar``: ``{"skip": [dates],
    "pause": [dates]}``, scheduled dates whose instances are ``SkipCalendar`` dry runs / ``PauseCalendar``.
    ``owner`` (account id) and ``resource_group`` default to the workspace's.
    """

    http_trigger: bool = False
    cron: str = "0 0 * * *"
    upstream: Iterable[int] = ()
    duration: timedelta | None = None  # None: 0 s for an HTTP trigger node, else 60 s
    outcome: str = "Success"
    recurrence: str = "Normal"
    workflow_id: int | None = None  # None: the workspace's first workflow
    env_type: str = "Prod"
    task_type: str | None = None  # None: SCHEDULER_TRIGGER for an HTTP trigger node, else ODPS_SQL
    deployed_at: datetime | None = None
    instance_mode: str = "T+1"
    failing_runs: int = 0
    rerun_mode: str = "AllAllowed"
    calendar: SchedulingCalendar | Mapping[str, Iterable[date | str]] | None = None
    owner: str | None = None
    resource_group: str | None = None


def add_workspace(
    state: State,
    workspace_id: int,
    region: str = DEFAULT_REGION,
    *,
    name: str | None = None,
    timezone: str | None = None,
    resource_capacity: int | None = None,
    resource_wait: timedelta = timedelta(0),
    account: str = DEFAULT_ACCOUNT_ID,
) -> Workspace:
    """Define a workspace of ``account`` in ``region``; its scheduling zone defaults from the region."""
    zone = timezone or region_timezone(region)
    if zone is None:
        raise ValueError(f"region {region!r} has no known scheduling zone: pass timezone=")
    validate_timezone(zone)
    if workspace_id in state.workspaces:
        raise ValueError(f"workspace {workspace_id} exists already")
    ws = Workspace(
        int(workspace_id),
        name or f"workspace_{workspace_id}",
        region,
        zone,
        resource_capacity,
        resource_wait,
        account_id=known_account(state, str(account)),
    )
    state.workspaces[ws.id] = ws
    add_workflow(state, ws.id, f"{ws.name}_workflow")
    return ws


def add_workflow(state: State, workspace_id: int, name: str, workflow_id: int | None = None) -> Workflow:
    """Define a workflow of workspace ``workspace_id`` (a workspace's first one holds its tasks by default)."""
    state.workspace(workspace_id)
    wf = Workflow(workflow_id or next(state.workflow_ids), workspace_id, name)
    state.workflows[wf.id] = wf
    return wf


def add_task(state: State, workspace: Workspace | int, task_id: int, name: str, options: TaskOptions) -> Task:
    """Deploy a task; its upstream tasks must exist already (in the same workspace)."""
    ws = state.workspace(workspace if isinstance(workspace, int) else workspace.id)
    ups = [int(u) for u in options.upstream]
    workflow_id = _check_new_task(state, ws, task_id, ups, options)
    task = _new_task(state, ws, int(task_id), name, workflow_id, ups, options)
    if task.outcome not in S.terminal():
        raise ValueError("outcome must be 'Success' or 'Failure'")
    state.tasks[task.id] = task
    for ws_id, day in sorted(state.generated_days):
        if ws_id == ws.id:
            generate(state, task, day)
    return task


def _check_new_task(state: State, ws: Workspace, task_id: int, ups: list[int], options: TaskOptions) -> int:
    """Raise ValueError unless a task ``task_id`` can be deployed so; its workflow id."""
    if task_id in state.tasks:
        raise ValueError(f"task {task_id} exists already")
    for up in ups:
        if up not in state.tasks or state.tasks[up].workspace_id != ws.id:
            raise ValueError(f"upstream task {up} of task {task_id} is not in workspace {ws.id}")
    if options.instance_mode not in ("T+1", "Immediately"):
        raise ValueError("instance_mode must be 'T+1' or 'Immediately'")
    wf_id = options.workflow_id or min(w.id for w in state.workflows.values() if w.workspace_id == ws.id)
    if wf_id not in state.workflows:
        raise ValueError(f"workflow {wf_id} does not exist")
    if options.env_type not in ("Prod", "Dev"):
        raise ValueError(f"env_type {options.env_type!r} is not an official value (Prod, Dev)")
    return wf_id


def _new_task(
    state: State, ws: Workspace, task_id: int, name: str, workflow_id: int, ups: list[int], options: TaskOptions
) -> Task:
    """The task ``options`` describe (its values parsed and defaulted); not deployed yet."""
    http_trigger = options.http_trigger
    return Task(
        id=task_id,
        workspace_id=ws.id,
        workflow_id=workflow_id,
        name=name,
        http_trigger=http_trigger,
        schedule=parse_cron(options.cron),
        upstream=ups,
        duration=options.duration if options.duration is not None else timedelta(0 if http_trigger else 60),
        outcome=S(options.outcome),
        recurrence=parse(TriggerRecurrence, options.recurrence, "recurrence"),
        env_type=options.env_type,
        task_type=options.task_type or (HTTP_TRIGGER_TYPE if http_trigger else "ODPS_SQL"),
        deployed_at=options.deployed_at,
        instance_mode=options.instance_mode,
        rank=1 + max((state.tasks[u].rank for u in ups), default=0),
        failing_runs=int(options.failing_runs),
        rerun_mode=parse(RerunMode, options.rerun_mode, "rerun_mode"),
        calendar=SchedulingCalendar.of(options.calendar),
        owner=options.owner,
        resource_group=options.resource_group,
    )
