"""DataWorks records the provider works with: statuses and small typed views of API objects.

Pure module (no SDK, no Airflow): the hook builds these from the API's PascalCase JSON, and the
emulator shares the status vocabulary. All times are epoch milliseconds (UTC instants).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from airflow_provider_dataworks.exceptions import UnknownApiValueError


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
    """``TaskInstance.TriggerRecurrence``: how an instance runs when its turn comes (ten official values)."""

    NORMAL = "Normal"
    #: Dry runs: each ends Success without running and releases its downstream by itself.
    SKIP = "Skip"  # set by hand (Operation Center: dry run)
    SKIP_CYCLE = "SkipCycle"  # a weekly or monthly node on a day outside its cycle
    SKIP_CALENDAR = "SkipCalendar"  # a day the node's scheduling calendar skips
    SKIP_UNCHOOSE = "SkipUnchoose"  # a node not selected in a temporary workflow
    CONDITION_UNCHOOSE = "ConditionUnchoose"  # not chosen by an upstream branch (IF) node
    REALTIME_DEPRECATED = "RealtimeDeprecated"  # an expired instance generated in real time
    #: Paused: DataWorks sets the instance to Failure when scheduling reaches it, without running it.
    PAUSE = "Pause"  # the node is paused (frozen)
    PAUSE_CALENDAR = "PauseCalendar"  # a day the node's scheduling calendar pauses
    #: A manual task's instance: not scheduled daily.
    MANUAL = "Manual"

    @classmethod
    def dry_runs(cls) -> frozenset[TriggerRecurrence]:
        return frozenset(
            {
                cls.SKIP,
                cls.SKIP_CYCLE,
                cls.SKIP_CALENDAR,
                cls.SKIP_UNCHOOSE,
                cls.CONDITION_UNCHOOSE,
                cls.REALTIME_DEPRECATED,
            }
        )

    @classmethod
    def paused(cls) -> frozenset[TriggerRecurrence]:
        return frozenset({cls.PAUSE, cls.PAUSE_CALENDAR})

    @property
    def meaning(self) -> str:
        """What the value says of an instance, in a few words (for messages)."""
        return _RECURRENCE_MEANINGS[self]


_RECURRENCE_MEANINGS = {
    TriggerRecurrence.NORMAL: "it runs when released",
    TriggerRecurrence.SKIP: "set to dry run in DataWorks",
    TriggerRecurrence.SKIP_CYCLE: "a weekly or monthly node on a day outside its cycle",
    TriggerRecurrence.SKIP_CALENDAR: "a day the node's scheduling calendar skips",
    TriggerRecurrence.SKIP_UNCHOOSE: "a node not selected in a temporary workflow",
    TriggerRecurrence.CONDITION_UNCHOOSE: "not chosen by an upstream branch node",
    TriggerRecurrence.REALTIME_DEPRECATED: "an expired instance generated in real time",
    TriggerRecurrence.PAUSE: "the node is paused (frozen) in DataWorks",
    TriggerRecurrence.PAUSE_CALENDAR: "a day the node's scheduling calendar pauses",
    TriggerRecurrence.MANUAL: "a manual task, not scheduled daily",
}


class WorkflowInstanceType(str, Enum):
    """``TaskInstance.WorkflowInstanceType``: what made the workflow instance an instance belongs to.

    Only ``Normal`` instances are the scheduled ones a DAG run releases; a data backfill (``SupplementData``), a
    manual run or a smoke test of the node's day has the same task and TriggerTime and is never taken for it.
    """

    NORMAL = "Normal"  # the daily schedule
    SUPPLEMENT_DATA = "SupplementData"  # a data backfill run in DataWorks
    MANUAL = "Manual"  # a manually run task
    MANUAL_FLOW = "ManualFlow"
    MANUAL_WORKFLOW = "ManualWorkflow"  # a manually run workflow
    SMOKE_TEST = "SmokeTest"  # a test run from the editor
    TRIGGER_WORKFLOW = "TriggerWorkflow"  # a triggered workflow


class RerunMode(str, Enum):
    """``TaskInstance.RerunMode``: which of the node's instances DataWorks lets ``RerunTaskInstances`` rerun."""

    ALL_ALLOWED = "AllAllowed"
    FAILURE_ALLOWED = "FailureAllowed"  # only an instance that failed
    ALL_DENIED = "AllDenied"


E = TypeVar("E", bound=Enum)


def parse_enum(kind: type[E], value: Any, field: str, owner: str) -> E:
    """``kind(value)``, or an :class:`UnknownApiValueError` naming the field, the value and the values known."""
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(str(member.value) for member in kind)
        raise UnknownApiValueError(
            f"DataWorks answered {field}={value!r} for {owner}, a value this provider does not know ({known}). "
            "Upgrade airflow-provider-dataworks; if the newest release does not know it either, please report it."
        ) from None


def _optional_enum(kind: type[E], value: Any, field: str, owner: str) -> E | None:
    return None if value in (None, "") else parse_enum(kind, value, field, owner)


def _int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


@dataclass(frozen=True)
class TaskInstance:
    """One instance of a scheduled DataWorks task (``TaskInstance`` of GetTaskInstance / ListTaskInstances).

    ``workflow_instance_type`` None: DataWorks did not say (read as ``Normal``). ``run_number`` counts the runs
    of the instance (1, then +1 per rerun); ``ListTaskInstances`` by ``Id`` lists one record per run.
    """

    id: int
    task_id: int
    task_name: str
    project_id: int | None
    status: TaskInstanceStatus
    trigger_time_ms: int | None
    bizdate_ms: int | None
    trigger_recurrence: TriggerRecurrence
    workflow_id: int | None
    workflow_instance_id: int | None
    env_type: str | None
    started_ms: int | None = None
    finished_ms: int | None = None
    waiting_trigger_since_ms: int | None = None
    task_type: str | None = None
    workflow_instance_type: WorkflowInstanceType | None = None
    rerun_mode: RerunMode | None = None
    run_number: int = 1

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> TaskInstance:
        owner = f"instance {data.get('Id')}"
        return cls(
            id=int(data["Id"]),
            task_id=int(data.get("TaskId") or 0),
            task_name=str(data.get("TaskName") or ""),
            project_id=_int(data.get("ProjectId")),
            status=parse_enum(TaskInstanceStatus, data.get("Status"), "Status", owner),
            trigger_time_ms=_int(data.get("TriggerTime")),
            bizdate_ms=_int(data.get("Bizdate")),
            trigger_recurrence=parse_enum(
                TriggerRecurrence, data.get("TriggerRecurrence") or "Normal", "TriggerRecurrence", owner
            ),
            workflow_id=_int(data.get("WorkflowId")),
            workflow_instance_id=_int(data.get("WorkflowInstanceId")),
            env_type=data.get("ProjectEnv") or data.get("EnvType"),
            started_ms=_int(data.get("StartedTime")),
            finished_ms=_int(data.get("FinishedTime")),
            waiting_trigger_since_ms=_int(data.get("WaitingTriggerTime")),
            task_type=data.get("TaskType"),
            workflow_instance_type=_optional_enum(
                WorkflowInstanceType, data.get("WorkflowInstanceType"), "WorkflowInstanceType", owner
            ),
            rerun_mode=_optional_enum(RerunMode, data.get("RerunMode"), "RerunMode", owner),
            run_number=_int(data.get("RunNumber")) or 1,
        )

    @property
    def is_scheduled(self) -> bool:
        """An instance of the daily schedule (``WorkflowInstanceType`` Normal), not a backfill, manual or test run."""
        return self.workflow_instance_type in (None, WorkflowInstanceType.NORMAL)

    @property
    def is_dry_run(self) -> bool:
        return self.trigger_recurrence in TriggerRecurrence.dry_runs()

    @property
    def is_paused(self) -> bool:
        return self.trigger_recurrence in TriggerRecurrence.paused()

    @property
    def is_manual(self) -> bool:
        return self.trigger_recurrence == TriggerRecurrence.MANUAL


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
            status=parse_enum(TaskInstanceStatus, data.get("Status"), "Status", f"workflow instance {data.get('Id')}"),
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
    trigger_type: str | None = None  # ``Trigger.Type``: Scheduler, or Manual (a manual task, never scheduled)
    recurrence: str | None = None  # ``Trigger.Recurrence``: Normal, Skip or Pause

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
            trigger_type=trigger.get("Type"),
            recurrence=trigger.get("Recurrence"),
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
