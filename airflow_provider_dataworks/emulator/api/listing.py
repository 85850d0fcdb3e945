"""``ListTaskInstances``: the official filters, sort and rerun history over a business date's instances.

Every official filter narrows the result (``TaskName`` is a case-insensitive substring match, as the SDK says
"fuzzy match"; ``Filter`` is the JSON object of time bounds the SDK documents, inclusive, epoch ms). With ``Id``,
the answer is that instance's history, one record per ``RunNumber`` (each rerun adds one), as the SDK's doc of
``Id`` says; every other listing has the latest run only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from airflow_provider_dataworks.domain.timing import to_epoch_ms
from airflow_provider_dataworks.emulator.api.render import owner, resource_group
from airflow_provider_dataworks.emulator.backend import ApiError, Backend, Instance

#: ``Filter`` key -> (instance attribute, whether it is a lower bound).
_TIME_BOUNDS: dict[str, tuple[str, bool]] = {
    "startedTimeStart": ("started_at", True),
    "startedTimeEnd": ("started_at", False),
    "finishedTimeStart": ("finished_at", True),
    "finishedTimeEnd": ("finished_at", False),
    "createTimeStart": ("created_at", True),
    "createTimeEnd": ("created_at", False),
}

SORT_KEYS: dict[str, Callable[[Instance], Any]] = {
    "Id": lambda i: (i.id, i.run_number),
    "TriggerTime": lambda i: i.trigger_time,
    "StartedTime": lambda i: (i.started_at is not None, i.started_at),
    "FinishedTime": lambda i: (i.finished_at is not None, i.finished_at),
    "CreateTime": lambda i: i.created_at,
}


def _equal_filters(backend: Backend) -> dict[str, Callable[[Instance], Any]]:
    """Parameter -> what of an instance it must equal."""
    task = backend.tasks.__getitem__
    return {
        "TaskId": lambda i: i.task_id,
        "WorkflowInstanceId": lambda i: i.workflow_instance_id,
        "UnifiedWorkflowInstanceId": lambda i: i.workflow_instance_id,
        "WorkflowId": lambda i: task(i.task_id).workflow_id,
        "Status": lambda i: i.status.value,
        "ProjectEnv": lambda i: task(i.task_id).env_type,
        "Owner": lambda i: owner(backend, task(i.task_id)),
        "TaskType": lambda i: task(i.task_id).task_type,
        "TriggerType": lambda i: i.trigger_type,
        "TriggerRecurrence": lambda i: getattr(i.recurrence, "value", i.recurrence),
        "WorkflowInstanceType": lambda i: i.workflow_instance_type,
        "RuntimeResource": lambda i: resource_group(backend, task(i.task_id)),
    }


def _time_filter(text: str) -> Callable[[Instance], bool]:
    """The ``Filter`` parameter: a JSON object of time bounds (all must hold)."""
    try:
        bounds = json.loads(text)
        if not isinstance(bounds, dict) or set(bounds) - set(_TIME_BOUNDS):
            raise ValueError(text)
        limits = {key: int(value) for key, value in bounds.items()}
    except (ValueError, TypeError) as err:
        raise ApiError(
            400, "Invalid.Param", f"The parameter Filter must be a JSON object of {sorted(_TIME_BOUNDS)} (epoch ms)."
        ) from err

    def holds(inst: Instance) -> bool:
        for key, limit in limits.items():
            attr, lower = _TIME_BOUNDS[key]
            moment: datetime | None = getattr(inst, attr)
            if moment is None or (to_epoch_ms(moment) < limit if lower else to_epoch_ms(moment) > limit):
                return False
        return True

    return holds


def select(backend: Backend, records: list[Instance], p: Mapping[str, Any]) -> list[Instance]:
    """The records of ``records`` (latest runs) that every given filter keeps, sorted by ``SortBy``."""
    if "Id" in p:
        records = [run for i in records if i.id == p["Id"] for run in (*i.history, i)]
    if "Ids" in p:
        records = [i for i in records if i.id in set(p["Ids"])]
    if "TaskIds" in p:
        records = [i for i in records if i.task_id in set(p["TaskIds"])]
    if "TaskName" in p:
        records = [i for i in records if p["TaskName"].lower() in backend.tasks[i.task_id].name.lower()]
    for name, value_of in _equal_filters(backend).items():
        if name in p:
            records = [i for i in records if value_of(i) == p[name]]
    if "Filter" in p:
        records = list(filter(_time_filter(p["Filter"]), records))
    return _sorted(records, p.get("SortBy", "Id Desc"))


def _sorted(records: list[Instance], sort_by: str) -> list[Instance]:
    words = sort_by.split()
    if not 1 <= len(words) <= 2 or words[0] not in SORT_KEYS or words[1:] not in ([], ["Asc"], ["Desc"]):
        raise ApiError(400, "Invalid.Param", f"The parameter SortBy {sort_by!r} is not supported.")
    return sorted(records, key=SORT_KEYS[words[0]], reverse=len(words) == 2 and words[1] == "Desc")
