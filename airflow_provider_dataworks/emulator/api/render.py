"""The model's objects as the 2024-05-18 API answers them: PascalCase JSON with exactly the official fields.

Field names, nesting and JSON types follow Alibaba's metadata (``tests/api_meta/`` checks them); a field the model
has no value for (a time not reached yet) is left out, as the official models omit unset fields, never sent as null.
The task instance object differs by place: ``GetTaskInstance`` and ``ListTaskInstances`` carry ``ProjectEnv``,
``UnifiedWorkflowInstanceId`` and the waiting times; ``ListDownstreamTaskInstances``' nested ``TaskInstance`` has
``EnvType`` instead and none of those; its flat ``TaskInstances`` list has ``ProjectEnv`` and ``StepType``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from airflow_provider_dataworks.domain.timing import to_epoch_ms
from airflow_provider_dataworks.emulator.backend import Backend, Instance, Task, WorkflowInstance
from airflow_provider_dataworks.emulator.backend.schedule import quartz
from airflow_provider_dataworks.emulator.backend.vocab import TriggerRecurrence, parse

Shape = Literal["get", "list", "downstream", "downstream_flat"]


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else to_epoch_ms(moment)


def _set(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` without the unset (None) ones."""
    return {k: v for k, v in fields.items() if v is not None}


def resource_group(backend: Backend, task: Task) -> str:
    """The scheduling resource group of a task (``RuntimeResource.ResourceGroupId``): its own, else its workspace's."""
    return task.resource_group or f"Serverless_res_group_{task.workspace_id}"


def owner(backend: Backend, task: Task) -> str:
    """The account id of a task's owner: its own, else its workspace's."""
    return task.owner or backend.workspaces[task.workspace_id].owner


def render_instance(backend: Backend, inst: Instance, shape: Shape = "get") -> dict[str, Any]:
    task = backend.tasks[inst.task_id]
    ws = backend.workspaces[inst.workspace_id]
    workflow = backend.workflows[task.workflow_id]
    fields: dict[str, Any] = {
        "Id": inst.id,
        "TaskId": task.id,
        "TaskName": task.name,
        "TaskType": task.task_type,
        "ProjectId": ws.id,
        "Bizdate": _ms(inst.bizdate),
        "TriggerTime": _ms(inst.trigger_time),
        "TriggerType": inst.trigger_type,
        "TriggerRecurrence": parse(TriggerRecurrence, inst.recurrence, "recurrence").value,
        "Status": inst.status.value,
        "PeriodNumber": inst.period_number,
        "RunNumber": inst.run_number,
        "WorkflowId": workflow.id,
        "WorkflowName": workflow.name,
        "WorkflowInstanceId": inst.workflow_instance_id,
        "WorkflowInstanceType": inst.workflow_instance_type,
        "CreateTime": _ms(inst.created_at),
        "ModifyTime": _ms(inst.modified_at),
        "StartedTime": _ms(inst.started_at),
        "FinishedTime": _ms(inst.finished_at),
        "Owner": owner(backend, task),
        "CreateUser": ws.owner,
        "ModifyUser": ws.owner,
        "Priority": 1,
        "RerunMode": str(inst.rerun_mode.value),
        "Timeout": 0,
        "Runtime": {"Gateway": "emulator", "ProcessId": f"T3_{inst.id}"},
        "RuntimeResource": {"ResourceGroupId": resource_group(backend, task)},
    }
    if shape == "downstream":
        fields["EnvType"] = task.env_type
    else:
        fields["ProjectEnv"] = task.env_type
    if shape in ("get", "list"):
        fields["UnifiedWorkflowInstanceId"] = inst.workflow_instance_id
        fields["WaitingTriggerTime"] = _ms(inst.waiting_trigger_at)
        fields["WaitingResourceTime"] = _ms(inst.waiting_resource_at)
    if shape == "downstream_flat":
        fields["StepType"] = "Normal"
    return _set(fields)


#: ``WorkflowInstance.Type`` has no ``ManualFlow`` (a task instance's WorkflowInstanceType has): its workflow
#: instance reads as the manual workflow it is.
_WORKFLOW_TYPE = {"ManualFlow": "ManualWorkflow"}


def render_workflow_instance(backend: Backend, wfi: WorkflowInstance) -> dict[str, Any]:
    status, started, finished = backend.workflow_status(wfi)
    ws = backend.workspaces[wfi.workspace_id]
    return _set(
        {
            "Id": wfi.id,
            "WorkflowId": wfi.workflow_id,
            "Name": backend.workflows[wfi.workflow_id].name,
            "ProjectId": wfi.workspace_id,
            "EnvType": "Prod",
            "Type": _WORKFLOW_TYPE.get(wfi.type, wfi.type),
            "BizDate": _ms(wfi.bizdate),
            "Status": status.value,
            "StartedTime": _ms(started),
            "FinishedTime": _ms(finished),
            "CreateTime": _ms(wfi.created_at),
            "ModifyTime": _ms(wfi.created_at),
            "Owner": ws.owner,
            "CreateUser": ws.owner,
            "ModifyUser": ws.owner,
            "UnifiedWorkflowInstanceId": wfi.id,
        }
    )


def _task_trigger(task: Task) -> dict[str, str]:
    """``Task.Trigger``: its ``Recurrence`` has three official values (Normal, Pause, Skip); a ``Manual`` task's
    ``Type`` is ``Manual``. Instance-level recurrences given to a task read as the one they act like."""
    recurrence = parse(TriggerRecurrence, task.recurrence, "recurrence")
    shown = "Skip" if recurrence.is_dry_run else "Pause" if recurrence.is_paused else "Normal"
    kind = "Manual" if recurrence == TriggerRecurrence.MANUAL else "Scheduler"
    return {"Type": kind, "Cron": quartz(task.schedule.expression), "Recurrence": shown}


def render_task(backend: Backend, task: Task) -> dict[str, Any]:
    return {
        "Id": task.id,
        "Name": task.name,
        "ProjectId": task.workspace_id,
        "ProjectEnv": task.env_type,
        "EnvType": task.env_type,
        "Type": task.task_type,
        "WorkflowId": task.workflow_id,
        "InstanceMode": task.instance_mode,
        "RerunMode": task.rerun_mode.value,
        "Trigger": _task_trigger(task),
        "Dependencies": [{"Type": "Normal", "UpstreamTaskId": str(u)} for u in task.upstream],
        "Owner": owner(backend, task),
        "Priority": 1,
        "Timeout": 0,
        "RuntimeResource": {"ResourceGroupId": resource_group(backend, task)},
    }


def render_project(backend: Backend, project_id: int) -> dict[str, Any]:
    ws = backend.workspace(project_id)
    return {
        "Id": ws.id,
        "Name": ws.name,
        "DisplayName": ws.name,
        "Description": f"Emulated workspace in {ws.region} ({ws.timezone})",
        "Owner": ws.owner,
        "Status": "Available",
        "DevEnvironmentEnabled": False,
        "DevRoleDisabled": True,
        "PaiTaskEnabled": False,
        "AliyunResourceGroupId": "rg-emulator",
        "AliyunResourceTags": [],
    }
