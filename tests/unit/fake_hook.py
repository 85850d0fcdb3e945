"""A fake DataWorks hook for the sans-I/O steps: canned PascalCase answers by OpenAPI action, every call recorded.

``ScriptedHook`` answers ``call(action, **params)`` from a script (action -> answers, taken in order; the last one
repeats) and offers the hook-level methods the steps yield (``get_instance``, ``list_downstream``, ...) by driving
the same steps of ``domain/api_calls.py`` that ``DataWorksHook`` drives, so a test sees the OpenAPI calls a path
costs, in order, with their parameters. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from airflow_provider_dataworks.domain import api_calls
from airflow_provider_dataworks.domain.api_calls import BatchOutcome
from airflow_provider_dataworks.domain.api_records import Project, Task, TaskInstance, WorkflowInstance
from airflow_provider_dataworks.domain.hook_calls import run_sync

Answer = Mapping[str, Any] | Exception | Callable[[dict[str, Any]], Mapping[str, Any]]


class Settings:
    """The few connection settings the steps read."""

    env_type = "Prod"


class ScriptedHook:
    """Answers each OpenAPI action from ``script`` and records ``(action, params)`` of every call."""

    def __init__(self, **script: Answer | list[Answer]) -> None:
        self.script = {action: list(a) if isinstance(a, list) else [a] for action, a in script.items()}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    @property
    def actions(self) -> list[str]:
        return [action for action, _ in self.calls]

    def params_of(self, action: str) -> list[dict[str, Any]]:
        return [params for a, params in self.calls if a == action]

    # ------------------------------------------------------------------------------ the one I/O method
    def call(self, action: str, **params: Any) -> dict[str, Any]:
        self.calls.append((action, params))
        answers = self.script.get(action)
        if not answers:
            raise AssertionError(f"unexpected call {action}({params}); scripted: {sorted(self.script)}")
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            answer = answer(params)
        return dict(answer)

    def get_settings(self) -> Settings:
        return Settings()

    # ------------------------------------------------------------ the hook-level methods, as DataWorksHook has them
    def trigger_instance(self, task_id: int, trigger_time_ms: int, env_type: str | None = None) -> None:
        run_sync(api_calls.trigger_instance(task_id, trigger_time_ms, env_type), self)

    def get_instance(self, instance_id: int) -> TaskInstance:
        return run_sync(api_calls.get_instance(instance_id), self)

    def list_instances(self, project_id: int, bizdate: int, **filters: Any) -> list[TaskInstance]:
        return run_sync(api_calls.list_instances(project_id, bizdate, **filters), self)

    def find_instance(self, task_id: int, trigger_time_ms: int, **options: Any) -> TaskInstance:
        return run_sync(api_calls.find_instance(task_id, trigger_time_ms, **options), self)

    def list_downstream(self, instance_id: int) -> list[TaskInstance]:
        return run_sync(api_calls.list_downstream(instance_id), self)

    def get_workflow_instance(self, workflow_instance_id: int) -> WorkflowInstance:
        return run_sync(api_calls.get_workflow_instance(workflow_instance_id), self)

    def get_task(self, task_id: int) -> Task:
        return run_sync(api_calls.get_task(task_id), self)

    def get_project(self, project_id: int) -> Project:
        return run_sync(api_calls.get_project(project_id), self)

    def stop_instances(self, ids: list[int], comment: str) -> BatchOutcome:
        return run_sync(api_calls.stop_instances(ids, comment), self)

    def stop_workflow_instances(self, ids: list[int], comment: str) -> BatchOutcome:
        return run_sync(api_calls.stop_workflow_instances(ids, comment), self)

    def rerun_instances(self, ids: list[int], comment: str, use_latest_config: bool = False) -> BatchOutcome:
        return run_sync(api_calls.rerun_instances(ids, comment, use_latest_config), self)


#: The hook-level methods the fake offers (each with an ``a``-prefixed async twin on DataWorksHook).
HOOK_METHODS = (
    "trigger_instance",
    "get_instance",
    "list_instances",
    "find_instance",
    "list_downstream",
    "get_workflow_instance",
    "get_task",
    "get_project",
    "stop_instances",
    "stop_workflow_instances",
    "rerun_instances",
)


# ------------------------------------------------------------------------------------------- canned answers
def task_instance_row(ident: int, **fields: Any) -> dict[str, Any]:
    """A TaskInstance record as DataWorks answers it (PascalCase), waiting for its trigger unless told."""
    row: dict[str, Any] = {
        "Id": ident,
        "TaskId": 700001,
        "TaskName": "release",
        "ProjectId": 1001,
        "Status": "WaitTrigger",
        "TriggerTime": 1_764_001_800_000,
        "Bizdate": 1_763_913_600_000,
        "TriggerRecurrence": "Normal",
        "WorkflowInstanceType": "Normal",
        "WorkflowInstanceId": 9001,
        "ProjectEnv": "Prod",
        "RunNumber": 1,
    }
    row.update(fields)
    return row


def instance_body(ident: int, **fields: Any) -> dict[str, Any]:
    """GetTaskInstance's answer."""
    return {"TaskInstance": task_instance_row(ident, **fields), "RequestId": f"req-{ident}"}


def downstream_page(*rows: dict[str, Any], total: int | None = None) -> dict[str, Any]:
    """ListDownstreamTaskInstances' answer: each row wrapped as ``{"TaskInstance": ...}``."""
    wrapped = [{"TaskInstance": r} for r in rows]
    return {"PagingInfo": {"DownstreamTaskInstances": wrapped, "TotalCount": len(rows) if total is None else total}}


def instances_page(*rows: dict[str, Any], total: int | None = None) -> dict[str, Any]:
    """ListTaskInstances' answer."""
    return {"PagingInfo": {"TaskInstances": list(rows), "TotalCount": len(rows) if total is None else total}}


def workflow_body(ident: int, status: str, **fields: Any) -> dict[str, Any]:
    """GetWorkflowInstance's answer."""
    row = {"Id": ident, "Name": "wf", "Status": status, "ProjectId": 1001, "BizDate": 1_763_913_600_000}
    row.update(fields)
    return {"WorkflowInstance": row}


def batch_body(**answers: bool | str) -> dict[str, Any]:
    """A batch operation's ``SuccessInfo``: ``id=True`` done, ``id="why"`` refused (keys ``i<id>``)."""
    info = {}
    for key, answer in answers.items():
        ident = key.lstrip("i")
        info[ident] = {"Success": True} if answer is True else {"Success": False, "Message": answer}
    return {"SuccessInfo": info}
