"""DataWorks records the provider works with: statuses and small typed views of API objects.

Pure module (no SDK, no Airflow): the hook builds these from the API's PascalCase JSON, and the
emulator shares the status vocabulary. All times are epoch milliseconds (UTC instants).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any


class TaskInstanceStatus(str, Enum):
    """``TaskInstance.Status`` / ``WorkflowInstance.Status`` of the 2024-05-18 API."""

    NOT_RUN = "NotRun"
    WAIT_TIME = "WaitTime"
    WAIT_TRIGGER = "WaitTrigger"
    WAIT_RESOURCE = "WaitResource"
    CHECKING_CONDITION = "CheckingCondition"
    RUNNING = "Running"
    CHECKING = "Checking"
    SUCCESS = "Success"
    FAILURE = "Failure"

    @classmethod
    def terminal(cls) -> frozenset[TaskInstanceStatus]:
        return frozenset({cls.SUCCESS, cls.FAILURE})

    @classmethod
    def before_trigger(cls) -> frozenset[TaskInstanceStatus]:
        """Statuses of an HTTP-trigger instance that has not yet been released by a trigger."""
        return frozenset({cls.NOT_RUN, cls.WAIT_TIME, cls.WAIT_TRIGGER})

    @property
    def is_terminal(self) -> bool:
        return self in self.terminal()


class TriggerRecurrence(str, Enum):
    """``TaskInstance.TriggerRecurrence``: how a scheduled instance runs."""

    NORMAL = "Normal"
    PAUSE = "Pause"  # scheduled but forced to fail
    SKIP = "Skip"  # dry run: ends Success without running


def _int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


@dataclass(frozen=True)
class TaskInstance:
    """One instance of a scheduled DataWorks task (``TaskInstance`` of GetTaskInstance / ListTaskInstances)."""

    id: int
    task_id: int
    task_name: str
    project_id: int | None
    status: TaskInstanceStatus
    trigger_time_ms: int | None
    bizdate_ms: int | None
    trigger_recurrence: str
    workflow_id: int | None
    workflow_instance_id: int | None
    env_type: str | None
    started_ms: int | None = None
    finished_ms: int | None = None
    waiting_trigger_since_ms: int | None = None
    task_type: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> TaskInstance:
        return cls(
            id=int(data["Id"]),
            task_id=int(data.get("TaskId") or 0),
            task_name=str(data.get("TaskName") or ""),
            project_id=_int(data.get("ProjectId")),
            status=TaskInstanceStatus(data["Status"]),
            trigger_time_ms=_int(data.get("TriggerTime")),
            bizdate_ms=_int(data.get("Bizdate")),
            trigger_recurrence=str(data.get("TriggerRecurrence") or TriggerRecurrence.NORMAL.value),
            workflow_id=_int(data.get("WorkflowId")),
            workflow_instance_id=_int(data.get("WorkflowInstanceId")),
            env_type=data.get("EnvType") or data.get("ProjectEnv"),
            started_ms=_int(data.get("StartedTime")),
            finished_ms=_int(data.get("FinishedTime")),
            waiting_trigger_since_ms=_int(data.get("WaitingTriggerTime")),
            task_type=data.get("TaskType"),
        )

    @property
    def is_dry_run(self) -> bool:
        return self.trigger_recurrence == TriggerRecurrence.SKIP.value

    @property
    def is_paused(self) -> bool:
        return self.trigger_recurrence == TriggerRecurrence.PAUSE.value


@dataclass(frozen=True)
class WorkflowInstance:
    """A workflow instance (``WorkflowInstance`` of GetWorkflowInstance)."""

    id: int
    workflow_id: int | None
    name: str
    project_id: int | None
    status: TaskInstanceStatus
    bizdate_ms: int | None
    started_ms: int | None = None
    finished_ms: int | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> WorkflowInstance:
        return cls(
            id=int(data["Id"]),
            workflow_id=_int(data.get("WorkflowId")),
            name=str(data.get("Name") or ""),
            project_id=_int(data.get("ProjectId")),
            status=TaskInstanceStatus(data["Status"]),
            bizdate_ms=_int(data.get("BizDate")),
            started_ms=_int(data.get("StartedTime")),
            finished_ms=_int(data.get("FinishedTime")),
        )


@dataclass(frozen=True)
class Task:
    """A deployed task (``Task`` of GetTask)."""

    id: int
    name: str
    project_id: int | None
    task_type: str | None
    cron: str | None
    env_type: str | None
    workflow_id: int | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Task:
        trigger = data.get("Trigger") or {}
        return cls(
            id=int(data["Id"]),
            name=str(data.get("Name") or ""),
            project_id=_int(data.get("ProjectId")),
            task_type=data.get("Type"),
            cron=trigger.get("Cron"),
            env_type=data.get("EnvType") or data.get("ProjectEnv"),
            workflow_id=_int(data.get("WorkflowId")),
        )


@dataclass(frozen=True)
class Project:
    """A workspace (``Project`` of GetProject / ListProjects)."""

    id: int
    name: str
    display_name: str
    status: str | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Project:
        return cls(
            id=int(data["Id"]),
            name=str(data.get("Name") or ""),
            display_name=str(data.get("DisplayName") or ""),
            status=data.get("Status"),
        )
