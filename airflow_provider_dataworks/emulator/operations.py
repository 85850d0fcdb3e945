"""The emulated OpenAPI operations: typed parameters in, the documented PascalCase JSON out.

Each operation declares its parameters (name -> type, required); :func:`parse_params` types the merged
query and form fields the way the SDK sends them (integers as text, booleans as ``True``/``False``,
arrays as one JSON-encoded field) and answers a missing or mistyped one with a 400 that names it. It also
declares what its id parameters name (a workspace, task, instance, workflow instance): :meth:`Operation.carry_out`
lets the backend refuse a caller those belong to another account or region of (``Backend.check_access``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_dataworks.emulator.backend import ApiError, Backend, Caller, Instance, WorkflowInstance
from airflow_provider_dataworks.models import TaskInstanceStatus
from airflow_provider_dataworks.timing import to_epoch_ms

API_VERSION = "2024-05-18"
MAX_PAGE_SIZE = 500

Handler = Callable[[Backend, dict[str, Any], Caller], dict[str, Any]]


@dataclass(frozen=True)
class Param:
    kind: str  # "int" | "str" | "bool" | "int_list"
    required: bool = False


@dataclass(frozen=True)
class Operation:
    params: Mapping[str, Param]
    handler: Handler
    #: parameter -> what its id (or each id of a list) names: a key of ``backend.RESOURCE_KINDS``
    names: Mapping[str, str] = field(default_factory=dict)

    def carry_out(self, backend: Backend, caller: Caller, fields: Mapping[str, str]) -> dict[str, Any]:
        """Type ``fields``, check that ``caller`` may use what they name, and carry the operation out."""
        params = parse_params(self.params, fields)
        for name, kind in self.names.items():
            value = params.get(name)
            for ident in value if isinstance(value, list) else [] if value is None else [value]:
                backend.check_access(caller, kind, ident)
        return self.handler(backend, params, caller)

    def named_workspace_region(self, backend: Backend, fields: Mapping[str, str]) -> str | None:
        """The region of the first workspace the (raw) ``fields`` name, None when they name none that exists."""
        for name, kind in self.names.items():
            try:
                ident = int(json.loads(fields[name])[0]) if self.params[name].kind == "int_list" else int(fields[name])
                ws = backend.workspace_named(kind, ident)
            except (KeyError, IndexError, TypeError, ValueError):
                continue
            if ws is not None:
                return ws.region
        return None


def parse_params(spec: Mapping[str, Param], raw: Mapping[str, str]) -> dict[str, Any]:
    """Type the raw string fields by ``spec``; unknown fields are ignored as DataWorks does."""
    typed: dict[str, Any] = {}
    for name, param in spec.items():
        value = raw.get(name)
        if value is None or value == "":
            if param.required:
                raise ApiError(400, f"Missing{name}", f"{name} is mandatory for this action.")
            continue
        typed[name] = _convert(name, param.kind, value)
    return typed


def _convert(name: str, kind: str, value: str) -> Any:
    try:
        if kind == "int":
            return int(value)
        if kind == "bool":
            if value not in ("True", "False", "true", "false"):
                raise ValueError(value)
            return value.lower() == "true"
        if kind == "int_list":
            items = json.loads(value)
            if not isinstance(items, list):
                raise ValueError(value)
            return [int(i) for i in items]
    except (ValueError, TypeError) as err:
        expected = {"int": "an integer", "bool": "True or False", "int_list": "a JSON array of integers"}[kind]
        raise ApiError(400, "Invalid.Param", f"The parameter {name} must be {expected}, got {value!r}.") from err
    return value


# --------------------------------------------------------------------------------------------- render
def _ms(moment: Any) -> int | None:
    return None if moment is None else to_epoch_ms(moment)


def render_instance(backend: Backend, inst: Instance) -> dict[str, Any]:
    task = backend.tasks[inst.task_id]
    ws = backend.workspaces[inst.workspace_id]
    workflow = backend.workflows[task.workflow_id]
    return {
        "Id": inst.id,
        "TaskId": task.id,
        "TaskName": task.name,
        "TaskType": task.task_type,
        "ProjectId": ws.id,
        "ProjectEnv": task.env_type,
        "EnvType": task.env_type,
        "Bizdate": _ms(inst.bizdate),
        "TriggerTime": _ms(inst.trigger_time),
        "TriggerType": "Scheduler",
        "TriggerRecurrence": inst.recurrence.value,
        "Status": inst.status.value,
        "PeriodNumber": inst.period_number,
        "RunNumber": inst.run_number,
        "WorkflowId": workflow.id,
        "WorkflowName": workflow.name,
        "WorkflowInstanceId": inst.workflow_instance_id,
        "WorkflowInstanceType": "Normal",
        "UnifiedWorkflowInstanceId": inst.workflow_instance_id,
        "CreateTime": _ms(inst.created_at),
        "ModifyTime": _ms(inst.modified_at),
        "StartedTime": _ms(inst.started_at),
        "FinishedTime": _ms(inst.finished_at),
        "WaitingTriggerTime": _ms(inst.waiting_trigger_at),
        "WaitingResourceTime": _ms(inst.waiting_resource_at),
        "Owner": ws.owner,
        "CreateUser": ws.owner,
        "ModifyUser": ws.owner,
        "Priority": 1,
        "RerunMode": "AllAllowed",
        "Timeout": 0,
        "Runtime": {"Gateway": "emulator", "ProcessId": f"T3_{inst.id}"},
        "RuntimeResource": {"ResourceGroupId": f"Serverless_res_group_{ws.id}"},
    }


def render_workflow_instance(backend: Backend, wfi: WorkflowInstance) -> dict[str, Any]:
    status, started, finished = backend.workflow_status(wfi)
    ws = backend.workspaces[wfi.workspace_id]
    return {
        "Id": wfi.id,
        "WorkflowId": wfi.workflow_id,
        "Name": backend.workflows[wfi.workflow_id].name,
        "ProjectId": wfi.workspace_id,
        "EnvType": "Prod",
        "Type": "Normal",
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
    }


def _page(items: list[Any], params: Mapping[str, Any], default_size: int = 10) -> tuple[list[Any], dict[str, int]]:
    number = params.get("PageNumber", 1)
    size = params.get("PageSize", default_size)
    if number < 1:
        raise ApiError(400, "Invalid.Param", "The parameter PageNumber must be 1 or more.")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ApiError(400, "Invalid.Param", f"The parameter PageSize must be between 1 and {MAX_PAGE_SIZE}.")
    start = (number - 1) * size
    return items[start : start + size], {"PageNumber": number, "PageSize": size, "TotalCount": len(items)}


# --------------------------------------------------------------------------------------------- handlers
def trigger_scheduler_task_instance(backend: Backend, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
    env = p["EnvType"]
    if env not in ("Prod", "Dev"):
        raise ApiError(400, "Invalid.Param", f"The parameter EnvType must be Prod or Dev, got {env!r}.")
    backend.trigger(p["TaskId"], p["TriggerTime"], env)
    return {"Success": True}


def get_task_instance(backend: Backend, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
    return {"TaskInstance": render_instance(backend, backend.instance(p["Id"]))}


_SORT_KEYS: dict[str, Callable[[Instance], Any]] = {
    "Id": lambda i: i.id,
    "TriggerTime": lambda i: i.trigger_time,
    "StartedTime": lambda i: (i.started_at is not None, i.started_at),
    "FinishedTime": lambda i: (i.finished_at is not None, i.finished_at),
    "CreateTime": lambda i: i.created_at,
}


def list_task_instances(backend: Backend, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
    instances = backend.list_instances(p["ProjectId"], p["Bizdate"])
    if "TaskId" in p:
        instances = [i for i in instances if i.task_id == p["TaskId"]]
    if "TaskIds" in p:
        instances = [i for i in instances if i.task_id in set(p["TaskIds"])]
    if "Ids" in p:
        instances = [i for i in instances if i.id in set(p["Ids"])]
    if "Id" in p:
        instances = [i for i in instances if i.id == p["Id"]]
    if "WorkflowInstanceId" in p:
        instances = [i for i in instances if i.workflow_instance_id == p["WorkflowInstanceId"]]
    if "Status" in p:
        try:
            wanted = TaskInstanceStatus(p["Status"])
        except ValueError as err:
            raise ApiError(400, "Invalid.Param", f"The parameter Status has no value {p['Status']!r}.") from err
        instances = [i for i in instances if i.status == wanted]
    if "ProjectEnv" in p:
        instances = [i for i in instances if backend.tasks[i.task_id].env_type == p["ProjectEnv"]]
    sort_by = p.get("SortBy", "Id Desc").split()
    if sort_by[0] not in _SORT_KEYS or len(sort_by) > 2 or (len(sort_by) == 2 and sort_by[1] not in ("Asc", "Desc")):
        raise ApiError(400, "Invalid.Param", f"The parameter SortBy {p['SortBy']!r} is not supported.")
    instances.sort(key=_SORT_KEYS[sort_by[0]], reverse=len(sort_by) == 2 and sort_by[1] == "Desc")
    page, info = _page(instances, p)
    return {"PagingInfo": {**info, "TaskInstances": [render_instance(backend, i) for i in page]}}


def list_downstream_task_instances(backend: Backend, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
    page, info = _page(backend.downstream(p["Id"]), p)
    rendered = [render_instance(backend, i) for i in page]
    return {
        "PagingInfo": {
            **info,
            "DownstreamTaskInstances": [{"DependencyType": "Normal", "TaskInstance": r} for r in rendered],
            "TaskInstances": rendered,
        }
    }


def get_workflow_instance(backend: Backend, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
    return {"WorkflowInstance": render_workflow_instance(backend, backend.workflow_instance(p["Id"]))}


def get_task(backend: Backend, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
    task = backend.task(p["Id"])
    return {
        "Task": {
            "Id": task.id,
            "Name": task.name,
            "ProjectId": task.workspace_id,
            "ProjectEnv": task.env_type,
            "EnvType": task.env_type,
            "Type": task.task_type,
            "WorkflowId": task.workflow_id,
            "InstanceMode": "T+1" if task.instance_mode == "T+1" else "Immediately",
            "Trigger": {"Type": "Scheduler", "Cron": task.schedule.expression, "Recurrence": task.recurrence.value},
            "Dependencies": [{"Type": "Normal", "UpstreamTaskId": u} for u in task.upstream],
            "Owner": backend.workspaces[task.workspace_id].owner,
        }
    }


def get_project(backend: Backend, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
    return {"Project": render_project(backend, p["Id"])}


def list_projects(backend: Backend, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
    """The caller's account's workspaces in its endpoint's region (others are not listed, as on DataWorks)."""
    ids = [ws.id for ws in backend.visible(caller)]
    if "Ids" in p:
        ids = [i for i in ids if i in set(p["Ids"])]
    page, info = _page(ids, p)
    return {"PagingInfo": {**info, "Projects": [render_project(backend, i) for i in page]}}


def _batch(method: str) -> Handler:
    def handler(backend: Backend, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
        outcome = getattr(backend, method)(p["Ids"])
        return {"SuccessInfo": {str(k): {"Success": ok, "Message": msg} for k, (ok, msg) in outcome.items()}}

    return handler


_IDS = {"Ids": Param("int_list", True), "Comment": Param("str")}
_PAGING = {"PageNumber": Param("int"), "PageSize": Param("int")}
_INSTANCE, _INSTANCES = {"Id": "instance"}, {"Ids": "instance"}

OPERATIONS: dict[str, Operation] = {
    "TriggerSchedulerTaskInstance": Operation(
        {"TaskId": Param("int", True), "TriggerTime": Param("int", True), "EnvType": Param("str", True)},
        trigger_scheduler_task_instance,
        {"TaskId": "task"},
    ),
    "GetTaskInstance": Operation({"Id": Param("int", True)}, get_task_instance, _INSTANCE),
    "ListTaskInstances": Operation(
        {
            "ProjectId": Param("int", True),
            "Bizdate": Param("int", True),
            "TaskId": Param("int"),
            "TaskIds": Param("int_list"),
            "Ids": Param("int_list"),
            "Id": Param("int"),
            "WorkflowInstanceId": Param("int"),
            "Status": Param("str"),
            "SortBy": Param("str"),
            "ProjectEnv": Param("str"),
            **_PAGING,
        },
        list_task_instances,
        {"ProjectId": "project", "TaskId": "task", "TaskIds": "task", "Ids": "instance", "Id": "instance"},
    ),
    "ListDownstreamTaskInstances": Operation(
        {"Id": Param("int", True), **_PAGING}, list_downstream_task_instances, _INSTANCE
    ),
    "GetWorkflowInstance": Operation({"Id": Param("int", True)}, get_workflow_instance, {"Id": "workflow_instance"}),
    "GetTask": Operation({"Id": Param("int", True), "ProjectEnv": Param("str")}, get_task, {"Id": "task"}),
    "GetProject": Operation({"Id": Param("int", True)}, get_project, {"Id": "project"}),
    "ListProjects": Operation({"Ids": Param("int_list"), **_PAGING}, list_projects),
    "StopTaskInstances": Operation(_IDS, _batch("stop"), _INSTANCES),
    "StopWorkflowInstances": Operation(_IDS, _batch("stop_workflows"), {"Ids": "workflow_instance"}),
    "RerunTaskInstances": Operation({**_IDS, "UseLatestConfig": Param("bool")}, _batch("rerun"), _INSTANCES),
    "SetSuccessTaskInstances": Operation(_IDS, _batch("set_success"), _INSTANCES),
    "SuspendTaskInstances": Operation(_IDS, _batch("suspend"), _INSTANCES),
    "ResumeTaskInstances": Operation(_IDS, _batch("resume"), _INSTANCES),
}
