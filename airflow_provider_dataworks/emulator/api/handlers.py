"""The emulated OpenAPI operations: each one's official parameters, the model call that carries it out, and its
answer in the documented PascalCase JSON.

Each operation declares its official parameters (name -> position, type, required, enum; Alibaba's metadata,
checked by ``tests/emulator/test_api_meta.py``; typed by ``params.py``) and what its id parameters name (a
workspace, task, instance, workflow instance): :meth:`Operation.carry_out` lets the backend refuse a caller those
belong to another account or region of.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_dataworks.emulator.api import listing
from airflow_provider_dataworks.emulator.api.params import Param, paginate, parse_params
from airflow_provider_dataworks.emulator.api.render import (
    render_instance,
    render_project,
    render_task,
    render_workflow_instance,
)
from airflow_provider_dataworks.emulator.backend import ApiError, Backend, Caller
from airflow_provider_dataworks.emulator.backend.vocab import (
    ProjectEnv,
    Status,
    TriggerRecurrence,
    TriggerType,
    WorkflowInstanceType,
)

API_VERSION = "2024-05-18"
#: Official page-size maxima (ListTaskInstances: the SDK's doc, 500; ListProjects: the API doc, 100). An operation
#: whose docs state none (ListDownstreamTaskInstances) takes up to ``params.MAX_PAGE_SIZE``.
PAGE_SIZE_MAX = {"ListTaskInstances": 500, "ListProjects": 100, "ListDownstreamTaskInstances": 500}
PROJECT_STATUSES = (
    "Available",
    "DeleteFailed",
    "Deleting",
    "Forbidden",
    "Frozen",
    "InitFailed",
    "Initializing",
    "UpdateFailed",
    "Updating",
)

Handler = Callable[[Backend, dict[str, Any], Caller], dict[str, Any]]


@dataclass(frozen=True)
class Operation:
    params: Mapping[str, Param]
    handler: Handler
    #: parameter -> what its id (or each id of a list) names: a key of ``backend.access.RESOURCE_KINDS``
    names: Mapping[str, str] = field(default_factory=dict)
    method: str = "POST"

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


# --------------------------------------------------------------------------------------------- handlers
def trigger_scheduler_task_instance(backend: Backend, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
    """``EnvType`` is optional: omitted, the trigger names the Prod instance (the official default)."""
    backend.trigger(p["TaskId"], p["TriggerTime"], p.get("EnvType", "Prod"))
    return {"Success": True}


def get_task_instance(backend: Backend, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
    return {"TaskInstance": render_instance(backend, backend.instance(p["Id"]), "get")}


def list_task_instances(backend: Backend, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
    records = listing.select(backend, backend.list_instances(p["ProjectId"], p["Bizdate"]), p)
    page, info = paginate(records, p, PAGE_SIZE_MAX["ListTaskInstances"])
    return {"PagingInfo": {**info, "TaskInstances": [render_instance(backend, i, "list") for i in page]}}


def list_downstream_task_instances(backend: Backend, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
    page, info = paginate(backend.downstream(p["Id"]), p, PAGE_SIZE_MAX["ListDownstreamTaskInstances"])
    return {
        "PagingInfo": {
            **info,
            "DownstreamTaskInstances": [
                {"DependencyType": "Normal", "TaskInstance": render_instance(backend, i, "downstream")} for i in page
            ],
            "TaskInstances": [render_instance(backend, i, "downstream_flat") for i in page],
        }
    }


def get_workflow_instance(backend: Backend, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
    return {"WorkflowInstance": render_workflow_instance(backend, backend.workflow_instance(p["Id"]))}


def get_task(backend: Backend, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
    """A task of another environment than ``ProjectEnv`` (when given) is not found."""
    task = backend.task(p["Id"])
    if p.get("ProjectEnv", task.env_type) != task.env_type:
        raise ApiError(404, "Invalid.Task.NotFound", f"The task {task.id} does not exist in {p['ProjectEnv']}.")
    return {"Task": render_task(backend, task)}


def get_project(backend: Backend, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
    return {"Project": render_project(backend, p["Id"])}


def _tags_match(wanted: Any, project: Mapping[str, Any]) -> bool:
    if not isinstance(wanted, list):
        raise ApiError(400, "Invalid.Param", "The parameter AliyunResourceTags must be a JSON array of {Key, Value}.")
    have = {(t["Key"], t["Value"]) for t in project["AliyunResourceTags"]}
    return all(isinstance(t, dict) and (t.get("Key"), t.get("Value")) in have for t in wanted)


def list_projects(backend: Backend, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
    """The caller's account's workspaces in its endpoint's region (others are not listed, as on DataWorks), narrowed
    by every official filter."""
    projects = [render_project(backend, ws.id) for ws in backend.visible(caller)]
    if "Ids" in p:
        projects = [r for r in projects if r["Id"] in set(p["Ids"])]
    if "Names" in p:
        projects = [r for r in projects if r["Name"] in set(p["Names"])]
    for name in ("AliyunResourceGroupId", "DevEnvironmentEnabled", "DevRoleDisabled", "PaiTaskEnabled", "Status"):
        if name in p:
            projects = [r for r in projects if r[name] == p[name]]
    if "AliyunResourceTags" in p:
        projects = [r for r in projects if _tags_match(p["AliyunResourceTags"], r)]
    page, info = paginate(projects, p, PAGE_SIZE_MAX["ListProjects"])
    return {"PagingInfo": {**info, "Projects": page}}


def _batch(method: str) -> Handler:
    """A per-id operation; without ``Ids`` (optional but for StopWorkflowInstances) it acts on nothing."""

    def handler(backend: Backend, p: dict[str, Any], caller: Caller) -> dict[str, Any]:
        extra = {"use_latest_config": p["UseLatestConfig"]} if "UseLatestConfig" in p else {}
        outcome = getattr(backend, method)(p.get("Ids", []), **extra)
        return {"SuccessInfo": {str(k): {"Success": ok, "Message": msg} for k, (ok, msg) in outcome.items()}}

    return handler


def _values(enum: Any) -> tuple[str, ...]:
    return tuple(str(m.value) for m in enum)


_ENV = _values(ProjectEnv)
_IDS = {"Ids": Param("int_list"), "Comment": Param("str")}
_QUERY_ID = {"Id": Param("int", True, "Query")}
_INSTANCE, _INSTANCES = {"Id": "instance"}, {"Ids": "instance"}
_LIST_TASK_INSTANCES = {
    "Bizdate": Param("int", True),
    "ProjectId": Param("int", True),
    "Filter": Param("str"),
    "Id": Param("int"),
    "Ids": Param("int_list"),
    "Owner": Param("str"),
    "PageNumber": Param("int"),
    "PageSize": Param("int"),
    "ProjectEnv": Param("str", enum=_ENV),
    "RuntimeResource": Param("str"),
    "SortBy": Param("str"),
    "Status": Param("str", enum=_values(Status)),
    "TaskId": Param("int"),
    "TaskIds": Param("int_list"),
    "TaskName": Param("str"),
    "TaskType": Param("str"),
    "TriggerRecurrence": Param("str", enum=_values(TriggerRecurrence)),
    "TriggerType": Param("str", enum=_values(TriggerType)),
    "UnifiedWorkflowInstanceId": Param("int"),
    "WorkflowId": Param("int"),
    "WorkflowInstanceId": Param("int"),
    "WorkflowInstanceType": Param("str", enum=_values(WorkflowInstanceType)),
}
_LIST_PROJECTS = {
    "AliyunResourceGroupId": Param("str"),
    "AliyunResourceTags": Param("json"),
    "DevEnvironmentEnabled": Param("bool"),
    "DevRoleDisabled": Param("bool"),
    "Ids": Param("int_list"),
    "Names": Param("str_list"),
    "PageNumber": Param("int"),
    "PageSize": Param("int"),
    "PaiTaskEnabled": Param("bool"),
    "Status": Param("str", enum=PROJECT_STATUSES),
}

OPERATIONS: dict[str, Operation] = {
    "TriggerSchedulerTaskInstance": Operation(
        {
            "EnvType": Param("str", False, "Query", _ENV),
            "TaskId": Param("int", True),
            "TriggerTime": Param("int", True),
        },
        trigger_scheduler_task_instance,
        {"TaskId": "task"},
    ),
    "GetTaskInstance": Operation(_QUERY_ID, get_task_instance, _INSTANCE, "GET"),
    "ListTaskInstances": Operation(
        _LIST_TASK_INSTANCES,
        list_task_instances,
        {"ProjectId": "project", "TaskId": "task", "TaskIds": "task", "Ids": "instance", "Id": "instance"},
    ),
    "ListDownstreamTaskInstances": Operation(
        {**_QUERY_ID, "PageNumber": Param("int", position="Query"), "PageSize": Param("int", position="Query")},
        list_downstream_task_instances,
        _INSTANCE,
        "GET",
    ),
    "GetWorkflowInstance": Operation(_QUERY_ID, get_workflow_instance, {"Id": "workflow_instance"}, "GET"),
    "GetTask": Operation(
        {**_QUERY_ID, "ProjectEnv": Param("str", False, "Query", _ENV)}, get_task, {"Id": "task"}, "GET"
    ),
    "GetProject": Operation(_QUERY_ID, get_project, {"Id": "project"}, "GET"),
    "ListProjects": Operation(_LIST_PROJECTS, list_projects),
    "StopTaskInstances": Operation(_IDS, _batch("stop"), _INSTANCES),
    "StopWorkflowInstances": Operation(
        {**_IDS, "Ids": Param("int_list", True)}, _batch("stop_workflows"), {"Ids": "workflow_instance"}
    ),
    "RerunTaskInstances": Operation({**_IDS, "UseLatestConfig": Param("bool")}, _batch("rerun"), _INSTANCES),
    "SetSuccessTaskInstances": Operation(_IDS, _batch("set_success"), _INSTANCES),
    "SuspendTaskInstances": Operation(_IDS, _batch("suspend"), _INSTANCES),
    "ResumeTaskInstances": Operation(_IDS, _batch("resume"), _INSTANCES),
}
