"""The things DataWorks holds: workspaces, workflows, tasks (nodes), task instances and workflow instances.

Plain records: the rules that create and move them are ``seeding.py``, ``generation.py``, ``lifecycle.py`` and
``instance_actions.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from airflow_provider_dataworks.emulator.backend.recurrence import SchedulingCalendar
from airflow_provider_dataworks.emulator.backend.schedule import CronSchedule
from airflow_provider_dataworks.emulator.backend.vocab import RerunMode, TriggerRecurrence
from airflow_provider_dataworks.emulator.backend.vocab import Status as S

#: The Alibaba Cloud account (UID) that owns every AccessKey and workspace a scenario gives to no other.
DEFAULT_ACCOUNT_ID = "1234567890123456"
#: The region a call counts in when its endpoint plays every region and it names no workspace (ListProjects).
DEFAULT_REGION = "cn-hangzhou"


@dataclass
class Workspace:
    id: int
    name: str
    region: str
    timezone: str
    resource_capacity: int | None = None
    resource_wait: timedelta = timedelta(0)
    owner: str = "emulator-owner"
    account_id: str = DEFAULT_ACCOUNT_ID

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass
class Workflow:
    id: int
    workspace_id: int
    name: str


@dataclass
class Task:
    id: int
    workspace_id: int
    workflow_id: int
    name: str
    http_trigger: bool
    schedule: CronSchedule
    upstream: list[int]
    duration: timedelta
    outcome: S
    recurrence: TriggerRecurrence
    env_type: str
    task_type: str
    deployed_at: datetime | None
    instance_mode: str
    rank: int  # topological position: upstream tasks always have a lower rank
    failing_runs: int = 0  # the first N runs of each instance end Failure whatever ``outcome`` says (a flaky job)
    rerun_mode: RerunMode = RerunMode.ALL_ALLOWED
    calendar: SchedulingCalendar = field(default_factory=SchedulingCalendar)
    owner: str | None = None  # the owner's account id (None: the workspace's owner)
    resource_group: str | None = None  # its scheduling resource group (None: the workspace's)


@dataclass
class Instance:
    id: int
    task_id: int
    workspace_id: int
    workflow_instance_id: int
    scheduled_day: date
    trigger_time: datetime
    bizdate: datetime
    period_number: int
    recurrence: TriggerRecurrence
    created_at: datetime
    status: S = S.NOT_RUN
    modified_at: datetime | None = None
    upstream_ids: list[int] = field(default_factory=list)
    downstream_ids: list[int] = field(default_factory=list)
    ready_at: datetime | None = None
    waiting_trigger_at: datetime | None = None
    waiting_resource_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    frozen: bool = False
    run_number: int = 1
    pending_trigger_at: datetime | None = None
    triggered_at: datetime | None = None
    #: Trigger commands accepted (each call that was not "no effect") and times it was released.
    accepted_triggers: int = 0
    releases: int = 0
    dropped_triggers: int = 0
    repeated_triggers: int = 0
    workflow_instance_type: str = "Normal"  # the official WorkflowInstanceType values (vocab.WorkflowInstanceType)
    trigger_type: str = "Scheduler"
    rerun_mode: RerunMode = RerunMode.ALL_ALLOWED
    #: When WaitTime ends (None: the scheduled TriggerTime); a manual run or smoke test starts when created.
    run_at: datetime | None = None
    #: The earlier runs (one frozen copy per RunNumber before the current one), oldest first.
    history: list[Instance] = field(default_factory=list)
    #: ``UseLatestConfig`` of the last RerunTaskInstances that reran it (None: never rerun, or not sent).
    use_latest_config: bool | None = None


@dataclass
class WorkflowInstance:
    id: int
    workflow_id: int
    workspace_id: int
    scheduled_day: date
    bizdate: datetime
    created_at: datetime
    instance_ids: list[int] = field(default_factory=list)
    type: str = "Normal"  # WorkflowInstance.Type
