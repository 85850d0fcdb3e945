"""The reads the API answers from: an instance, a business date's instances, downstream instances, a workflow
instance and its status. Each first brings the model up to the clock (generating due days, settling instances).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow_provider_dataworks.emulator.backend.entities import Instance, WorkflowInstance
from airflow_provider_dataworks.emulator.backend.errors import ApiError
from airflow_provider_dataworks.emulator.backend.generation import ensure_day
from airflow_provider_dataworks.emulator.backend.lifecycle import advance
from airflow_provider_dataworks.emulator.backend.state import State
from airflow_provider_dataworks.emulator.backend.vocab import Status as S


def instance(state: State, instance_id: int) -> Instance:
    """The task instance ``instance_id`` as of now, or DataWorks' 404."""
    advance(state)
    inst = state.instances.get(instance_id)
    if inst is None:
        raise ApiError(404, "Invalid.TaskInstance.NotFound", f"The task instance {instance_id} does not exist.")
    return inst


def list_instances(state: State, project_id: int, bizdate_ms: int) -> list[Instance]:
    """Every instance of a workspace whose business date is ``bizdate_ms`` (00:00 in its zone)."""
    ws = state.workspace(project_id)
    # A Bizdate that is not 00:00 in the workspace zone is read as the day it falls on there.
    day = datetime.fromtimestamp(bizdate_ms / 1000, tz=ws.zone).date() + timedelta(days=1)
    ensure_day(state, ws, day)
    advance(state)
    return [i for i in state.instances.values() if i.workspace_id == ws.id and i.scheduled_day == day]


def downstream(state: State, instance_id: int) -> list[Instance]:
    """The instances that depend on ``instance_id``."""
    return [state.instances[i] for i in instance(state, instance_id).downstream_ids]


def workflow_instance(state: State, workflow_instance_id: int) -> WorkflowInstance:
    """The workflow instance ``workflow_instance_id`` as of now, or DataWorks' 404."""
    advance(state)
    wfi = state.workflow_instances.get(workflow_instance_id)
    if wfi is None:
        raise ApiError(
            404, "Invalid.WorkflowInstance.NotFound", f"The workflow instance {workflow_instance_id} does not exist."
        )
    return wfi


def workflow_status(state: State, wfi: WorkflowInstance) -> tuple[S, datetime | None, datetime | None]:
    """Status, start and finish of a workflow instance, derived from its task instances."""
    members = [state.instances[i] for i in wfi.instance_ids]
    statuses = {m.status for m in members}
    started = [m.started_at for m in members if m.started_at]
    finished = [m.finished_at for m in members if m.finished_at]
    if S.FAILURE in statuses:
        return S.FAILURE, min(started, default=None), max(finished, default=None)
    if members and statuses == {S.SUCCESS}:
        return S.SUCCESS, min(started, default=None), max(finished, default=None)
    if started or S.SUCCESS in statuses:
        return S.RUNNING, min(started, default=None), None
    if statuses & {S.WAIT_TIME, S.WAIT_TRIGGER}:
        return S.WAIT_TIME, None, None
    return S.NOT_RUN, None, None


def find_instance(state: State, task_id: int, trigger_time_ms: int, env_type: str | None = None) -> Instance | None:
    """The scheduled instance of (task, scheduled time), generating its day if due; None if there is none."""
    task = state.task(task_id)
    if env_type is not None and env_type != task.env_type:
        return None
    ws = state.workspaces[task.workspace_id]
    day = datetime.fromtimestamp(trigger_time_ms / 1000, tz=ws.zone).date()
    for d in (day, day + timedelta(days=1)):  # a DST-delayed run can cross midnight
        ensure_day(state, ws, d)
    advance(state)
    inst_id = state.scheduled_instance_of.get((task_id, trigger_time_ms))
    return state.instances[inst_id] if inst_id is not None else None
