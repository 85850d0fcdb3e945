"""The DataWorks operations the hook offers, each once, sans I/O: the calls it makes and the record it returns.

Each function is a generator of :class:`~airflow_provider_dataworks.steps.HookCall` s; ``DataWorksHook`` drives
it with ``run_sync`` in its sync method and with ``run_async`` in the ``a``-prefixed async one. Times are epoch
milliseconds; a business date is 00:00 of its day in the scheduling zone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from typing_extensions import Unpack

from airflow_provider_dataworks.exceptions import DataWorksApiError, InstanceNotFoundError, InstanceNotGeneratedError
from airflow_provider_dataworks.models import Project, Task, TaskInstance, WorkflowInstance
from airflow_provider_dataworks.steps import HookCall, Steps
from airflow_provider_dataworks.timing import bizdate_ms, format_in_zone, kept_occurrence

#: ListTaskInstances and ListDownstreamTaskInstances return at most 500 rows a page.
PAGE_SIZE = 500


def _call(action: str, **params: Any) -> HookCall:
    return HookCall("call", (action,), params)


def trigger_instance(task_id: int, trigger_time_ms: int, env_type: str | None) -> Steps[None]:
    """TriggerSchedulerTaskInstance (1 call) in ``env_type``, default the connection's; raises unless
    DataWorks answers ``Success: true``. Retried on throttling only: after a 5xx or no answer it may have
    taken effect, so the caller reads the instance before sending it again."""
    if env_type is None:
        env_type = (yield HookCall("get_settings")).env_type
    body = yield HookCall(
        "call",
        ("TriggerSchedulerTaskInstance",),
        {"retry_ambiguous": False, "task_id": task_id, "trigger_time": trigger_time_ms, "env_type": env_type},
    )
    if body.get("Success") is not True:
        raise DataWorksApiError("TriggerSchedulerTaskInstance", "NotSuccess",
                                f"DataWorks answered Success={body.get('Success')!r}", None,
                                body.get("RequestId"))  # fmt: skip


def get_instance(instance_id: int) -> Steps[TaskInstance]:
    """GetTaskInstance (1 call)."""
    body = yield _call("GetTaskInstance", id=instance_id)
    return TaskInstance.from_api(body["TaskInstance"])


class InstanceFilters(TypedDict, total=False):
    """ListTaskInstances' narrowing parameters (each optional)."""

    task_id: int
    ids: list[int]
    env_type: str | None
    workflow_instance_id: int


def list_instances(project_id: int, bizdate: int, **filters: Unpack[InstanceFilters]) -> Steps[list[TaskInstance]]:
    """ListTaskInstances of one business date (epoch ms), every page: 1 call per 500 instances."""
    params: dict[str, Any] = {"project_id": project_id, "bizdate": bizdate, "sort_by": "TriggerTime Asc"}
    if (task_id := filters.get("task_id")) is not None:
        params["task_id"] = task_id
    if ids := filters.get("ids"):
        params["ids"] = list(ids)
    if env_type := filters.get("env_type"):
        params["project_env"] = env_type
    if (workflow_instance_id := filters.get("workflow_instance_id")) is not None:
        params["workflow_instance_id"] = workflow_instance_id
    return (yield from _paged("ListTaskInstances", params, _instances_of))


def find_instance(
    task_id: int, trigger_time_ms: int, *, project_id: int, zone: str, env_type: str | None = None
) -> Steps[TaskInstance]:
    """The instance of (task, TriggerTime): one ListTaskInstances call for its business date in ``zone``."""
    day = yield from list_instances(project_id, bizdate_ms(trigger_time_ms, zone), task_id=task_id, env_type=env_type)
    return match_instance(day, task_id, trigger_time_ms, zone)


def list_downstream(instance_id: int) -> Steps[list[TaskInstance]]:
    """ListDownstreamTaskInstances: the direct downstream instances, every page (1 call per 500)."""
    return (yield from _paged("ListDownstreamTaskInstances", {"id": instance_id}, _downstream_of))


def get_workflow_instance(workflow_instance_id: int) -> Steps[WorkflowInstance]:
    """GetWorkflowInstance (1 call)."""
    body = yield _call("GetWorkflowInstance", id=workflow_instance_id)
    return WorkflowInstance.from_api(body["WorkflowInstance"])


def get_task(task_id: int) -> Steps[Task]:
    """GetTask (1 call)."""
    body = yield _call("GetTask", id=task_id)
    return Task.from_api(body["Task"])


def get_project(project_id: int) -> Steps[Project]:
    """GetProject (1 call)."""
    body = yield _call("GetProject", id=project_id)
    return Project.from_api(body["Project"])


def match_instance(instances: Iterable[TaskInstance], task_id: int, trigger_time_ms: int, zone: str) -> TaskInstance:
    """The instance of ``task_id`` scheduled at ``trigger_time_ms``, from one day's list.

    A time in the first pass of a repeated hour (DST fall back) names the instance DataWorks keeps, at the
    second pass. Raises InstanceNotGeneratedError when the day has none yet, InstanceNotFoundError (listing
    the day's scheduled times in ``zone``) when none matches.
    """
    mine = sorted((i for i in instances if i.task_id == task_id), key=lambda i: i.trigger_time_ms or 0)
    wanted = format_in_zone(trigger_time_ms, zone)
    if not mine:
        raise InstanceNotGeneratedError(
            f"Task {task_id} has no instances yet on the day of TriggerTime {trigger_time_ms} ({wanted}). DataWorks "
            "generates a day's instances the evening before (T+1; a deploy after 23:30 only the day after next): "
            "the task will retry. If it keeps failing, check that the node is deployed to this environment."
        )
    for candidate in dict.fromkeys((trigger_time_ms, kept_occurrence(trigger_time_ms, zone))):
        for inst in mine:
            if inst.trigger_time_ms == candidate:
                return inst
    listed = ", ".join(f"{format_in_zone(i.trigger_time_ms, zone)} (id {i.id})" for i in mine if i.trigger_time_ms)
    raise InstanceNotFoundError(
        f"Task {task_id} has no instance scheduled at {wanted} (TriggerTime {trigger_time_ms}). Its instances that "
        f"day, in {zone}: {listed}. Likely causes: the scheduling zone is not {zone} (set the connection's or "
        "operator's timezone), or the DAG's schedule does not match the node's schedule (pass trigger_time)."
    )


@dataclass(frozen=True)
class BatchOutcome:
    """DataWorks' per-id answer to a batch operation (``SuccessInfo``): the ids it acted on, and why it refused
    the others (e.g. "The task instance is already Success.")."""

    done: tuple[int, ...]
    refused: Mapping[int, str]

    @classmethod
    def from_api(cls, body: Mapping[str, Any], ids: Iterable[int]) -> BatchOutcome:
        info = body.get("SuccessInfo") or {}
        done: list[int] = []
        refused: dict[int, str] = {}
        for instance_id in ids:
            answer = info.get(str(instance_id)) or {}
            if answer.get("Success") is True:
                done.append(instance_id)
            else:
                refused[instance_id] = str(answer.get("Message") or "DataWorks gave no answer for this id")
        return cls(tuple(done), refused)


def stop_instances(ids: Iterable[int], comment: str) -> Steps[BatchOutcome]:
    """StopTaskInstances (1 call): each unfinished instance ends in Failure (asynchronously on DataWorks).

    Retried like a read: a stop repeated after it took effect is refused for that id ("already Failure") and
    changes nothing.
    """
    wanted = list(ids)
    body = yield _call("StopTaskInstances", ids=wanted, comment=comment)
    return BatchOutcome.from_api(body, wanted)


def stop_workflow_instances(ids: Iterable[int], comment: str) -> Steps[BatchOutcome]:
    """StopWorkflowInstances (1 call): the unfinished instances of each workflow instance are stopped. Retried
    like :func:`stop_instances` (a repeat is refused and changes nothing)."""
    wanted = list(ids)
    body = yield _call("StopWorkflowInstances", ids=wanted, comment=comment)
    return BatchOutcome.from_api(body, wanted)


def rerun_instances(ids: Iterable[int], comment: str) -> Steps[BatchOutcome]:
    """RerunTaskInstances (1 call): each finished instance runs again, and its downstream follow.

    Not repeatable blindly: a rerun that took effect and finished before a second one would run the job twice.
    So it is retried on throttling only (``surely_not_applied``); after a 5xx or no answer the caller reads the
    instances again before deciding anything.
    """
    wanted = list(ids)
    body = yield HookCall(
        "call", ("RerunTaskInstances",), {"retry_ambiguous": False, "ids": wanted, "comment": comment}
    )
    return BatchOutcome.from_api(body, wanted)


def _paged(
    action: str, params: dict[str, Any], rows_of: Callable[[dict[str, Any]], list[TaskInstance]]
) -> Steps[list[TaskInstance]]:
    """Every page of a listing: one ``call`` of ``action`` per 500 rows."""
    found: list[TaskInstance] = []
    page = 1
    while True:
        body = yield _call(action, **params, page_number=page, page_size=PAGE_SIZE)
        info = body["PagingInfo"]
        found += rows_of(info)
        if page * PAGE_SIZE >= int(info.get("TotalCount") or 0):
            return found
        page += 1


def _instances_of(paging: dict[str, Any]) -> list[TaskInstance]:
    return [TaskInstance.from_api(i) for i in paging.get("TaskInstances") or []]


def _downstream_of(paging: dict[str, Any]) -> list[TaskInstance]:
    rows = paging.get("DownstreamTaskInstances")
    if rows is not None:
        return [TaskInstance.from_api(r["TaskInstance"]) for r in rows if r.get("TaskInstance")]
    return [TaskInstance.from_api(r) for r in paging.get("TaskInstances") or []]
