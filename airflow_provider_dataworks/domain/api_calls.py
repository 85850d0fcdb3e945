"""The DataWorks operations the hook offers, each once, sans I/O: the calls it makes and the record it returns.

Each function is a generator of :class:`~airflow_provider_dataworks.domain.hook_calls.HookCall` s;
``DataWorksHook`` drives it with ``run_sync`` in its sync method and with ``run_async`` in the ``a``-prefixed
async one. Times are epoch milliseconds; a business date is 00:00 of its day in the scheduling zone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from typing_extensions import Unpack

from airflow_provider_dataworks.domain.api_records import (
    Project,
    Task,
    TaskInstance,
    WorkflowInstance,
    WorkflowInstanceType,
)
from airflow_provider_dataworks.domain.hook_calls import HookCall, Steps
from airflow_provider_dataworks.domain.timing import bizdate_ms, format_in_zone, in_zone, kept_occurrence
from airflow_provider_dataworks.exceptions import DataWorksApiError, InstanceNotFoundError, InstanceNotGeneratedError

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
        raise DataWorksApiError(
            "TriggerSchedulerTaskInstance",
            "NotSuccess",
            f"DataWorks answered Success={body.get('Success')!r}",
            None,
            body.get("RequestId"),
        )


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
    workflow_instance_type: str


def list_instances(project_id: int, bizdate: int, **filters: Unpack[InstanceFilters]) -> Steps[list[TaskInstance]]:
    """ListTaskInstances of one business date (epoch ms), every page: 1 call per 500 instances.

    Each instance once, at its latest run (DataWorks may list a rerun instance's earlier runs too).
    """
    params: dict[str, Any] = {"project_id": project_id, "bizdate": bizdate, "sort_by": "TriggerTime Asc"}
    if (task_id := filters.get("task_id")) is not None:
        params["task_id"] = task_id
    if ids := filters.get("ids"):
        params["ids"] = list(ids)
    if env_type := filters.get("env_type"):
        params["project_env"] = env_type
    if (workflow_instance_id := filters.get("workflow_instance_id")) is not None:
        params["workflow_instance_id"] = workflow_instance_id
    if workflow_instance_type := filters.get("workflow_instance_type"):
        params["workflow_instance_type"] = workflow_instance_type
    return latest_runs((yield from _paged("ListTaskInstances", params, _instances_of)))


def latest_runs(instances: Iterable[TaskInstance]) -> list[TaskInstance]:
    """Each instance once, its record of the highest ``RunNumber``, in the order first listed."""
    latest: dict[int, TaskInstance] = {}
    for inst in instances:
        if inst.id not in latest or inst.run_number > latest[inst.id].run_number:
            latest[inst.id] = inst
    return list(latest.values())


class FindOptions(TypedDict, total=False):
    """:func:`find_instance`'s optional arguments: the environment (default the connection's); for the advice of a
    not-found error, the DAG's zone and where the run's time came from (``trigger_time``, ``data_interval_end``,
    ``logical_date``)."""

    env_type: str | None
    dag_zone: str | None
    time_source: str | None


def find_instance(
    task_id: int, trigger_time_ms: int, *, project_id: int, zone: str, **options: Unpack[FindOptions]
) -> Steps[TaskInstance]:
    """The scheduled instance of (task, TriggerTime): one ListTaskInstances call for its business date in ``zone``,
    of the daily schedule only (``WorkflowInstanceType=Normal``: a backfill, manual or test run is never it).

    When the day has instances but none at that time, and the offset is not a whole number of hours, one GetTask
    names the node's cron in the error.
    """
    env_type = options.get("env_type")
    advice = Advice(options.get("dag_zone"), options.get("time_source"))
    day = yield from list_instances(
        project_id,
        bizdate_ms(trigger_time_ms, zone),
        task_id=task_id,
        env_type=env_type,
        workflow_instance_type=WorkflowInstanceType.NORMAL.value,
    )
    try:
        return match_instance(day, task_id, trigger_time_ms, zone, advice)
    except InstanceNotFoundError as err:
        if err.offset_hours is not None:
            raise
        node = yield from get_task(task_id)
        raise InstanceNotFoundError(
            explain_missing_time(task_id, trigger_time_ms, zone, err.scheduled, advice, node.cron),
            scheduled=err.scheduled,
        ) from None


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


def match_instance(
    instances: Iterable[TaskInstance], task_id: int, trigger_time_ms: int, zone: str, advice: Advice | None = None
) -> TaskInstance:
    """The scheduled instance of ``task_id`` at ``trigger_time_ms``, from one day's list.

    Instances of other workflow instance types (a DataWorks backfill, a manual run, a smoke test of that day) are
    never matched, whatever their TriggerTime. A time in the first pass of a repeated hour (DST fall back) names
    the instance DataWorks keeps, at the second pass. Raises InstanceNotGeneratedError when the day has no
    scheduled instance of the task yet, InstanceNotFoundError (listing the day's scheduled times in ``zone``) when
    none matches.
    """
    mine = sorted(
        (i for i in latest_runs(instances) if i.task_id == task_id and i.is_scheduled),
        key=lambda i: i.trigger_time_ms or 0,
    )
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
    scheduled = [(i.id, i.trigger_time_ms) for i in mine if i.trigger_time_ms]
    raise InstanceNotFoundError(
        explain_missing_time(task_id, trigger_time_ms, zone, scheduled, advice),
        scheduled=scheduled,
        offset_hours=whole_hour_offset(trigger_time_ms, [t for _, t in scheduled]),
    )


HOUR_MS = 3_600_000


@dataclass(frozen=True)
class Advice:
    """What a not-found error's advice needs of the run: its DAG's zone, and where its time came from."""

    dag_zone: str | None = None
    time_source: str | None = None


def whole_hour_offset(trigger_time_ms: int, scheduled_ms: Iterable[int]) -> int | None:
    """Hours from the nearest scheduled time that lies a whole number of hours from ``trigger_time_ms`` (None: none
    does). Positive: the run's time is later."""
    offsets = [
        trigger_time_ms - t for t in scheduled_ms if t != trigger_time_ms and (trigger_time_ms - t) % HOUR_MS == 0
    ]
    return min(offsets, key=abs) // HOUR_MS if offsets else None


def explain_missing_time(
    task_id: int,
    trigger_time_ms: int,
    zone: str,
    scheduled: list[tuple[int, int]],
    advice: Advice | None = None,
    node_cron: str | None = None,
) -> str:
    """Why a run's time names none of the day's ``scheduled`` instances (id, TriggerTime), and the fix, the DAG's
    first.

    A whole-hour offset is a zone mismatch: the DAG's zone (when its wall time equals the node's) or the
    workspace's scheduling zone. Any other offset is a schedule mismatch: the node's cron is named when known.
    A time given as ``trigger_time`` is the one to fix.
    """
    advice = advice or Advice()
    wanted = format_in_zone(trigger_time_ms, zone)
    listed = ", ".join(f"{format_in_zone(t, zone)} (id {ident})" for ident, t in scheduled)
    scheduled_ms = [t for _, t in scheduled]
    head = (
        f"Task {task_id} has no instance scheduled at {wanted} (TriggerTime {trigger_time_ms}). "
        f"Its instances that day, in {zone}: {listed}."
    )
    hours = whole_hour_offset(trigger_time_ms, scheduled_ms)
    times = ", ".join(dict.fromkeys(f"{in_zone(t, zone):%H:%M}" for t in scheduled_ms))
    cron = f" (its cron: '{node_cron}')" if node_cron else ""
    if advice.time_source == "trigger_time":
        return (
            f"{head} The node runs at {times} in {zone}{cron}. This run's time is its trigger_time, read in {zone}: "
            f"set trigger_time to one of the node's times (or, if {zone} is not the workspace's scheduling zone, set "
            "the connection's 'timezone' extra to it)."
        )
    if hours is None:
        return (
            f"{head} The node runs at {times} in {zone}{cron}; the DAG's schedule does not fire then. Fix the DAG: "
            f"schedule it at the node's times in {zone}. Pass trigger_time only for a DAG meant to run on another "
            "schedule than the node's."
        )
    return f"{head} {_zone_mismatch_advice(trigger_time_ms, zone, hours, advice.dag_zone)}"


def _zone_mismatch_advice(trigger_time_ms: int, zone: str, hours: int, dag_zone: str | None) -> str:
    """The fix for a run ``hours`` whole hours off the node's time: the DAG's zone when its wall time is the node's,
    else the DAG's or the workspace's zone."""
    node_wall = f"{in_zone(trigger_time_ms - hours * HOUR_MS, zone):%H:%M}"
    apart = (
        f"{abs(hours)} hour{'s' if abs(hours) != 1 else ''} {'after' if hours > 0 else 'before'} the node's {node_wall}"
    )
    if dag_zone and dag_zone != zone and f"{in_zone(trigger_time_ms, dag_zone):%H:%M}" == node_wall:
        return (
            f"The run's time is {apart}: the DAG fires at {node_wall} in {dag_zone}, the node at {node_wall} "
            f"in {zone}. Fix the DAG: give its start_date (or its timetable) the node's zone, e.g. "
            f'pendulum.datetime(2026, 1, 1, tz="{zone}"). Keep the connection\'s timezone: it is the zone DataWorks '
            "schedules in."
        )
    return (
        f"The run's time is {apart}: a whole-hour offset is a zone mismatch. Either the DAG's schedule runs "
        f"in another zone than the node's (give the DAG's start_date tz=\"{zone}\"), or the workspace's scheduling "
        f"zone is not {zone} (set the connection's 'timezone' extra to it)."
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


def rerun_instances(ids: Iterable[int], comment: str, use_latest_config: bool = False) -> Steps[BatchOutcome]:
    """RerunTaskInstances (1 call): each finished instance runs again, and its downstream follow.

    ``use_latest_config``: rerun with the node's latest deployed configuration (``UseLatestConfig=true``, SDK
    8.8.3+); False sends nothing, and DataWorks reruns the instance as it was generated.

    Not repeatable blindly: a rerun that took effect and finished before a second one would run the job twice.
    So it is retried on throttling only (``surely_not_applied``); after a 5xx or no answer the caller reads the
    instances again before deciding anything.
    """
    wanted = list(ids)
    params: dict[str, Any] = {"retry_ambiguous": False, "ids": wanted, "comment": comment}
    if use_latest_config:
        params["use_latest_config"] = True
    body = yield HookCall("call", ("RerunTaskInstances",), params)
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
