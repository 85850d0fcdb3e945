"""The emulated DataWorks: workspaces, tasks, instances and the rules that move them (no HTTP here).

``wire.py`` / ``operations.py`` parse requests and render answers from this model. Time comes from an
:class:`EmulatorClock`; instances progress lazily, each time the model is read, so moving a frozen clock
by a day is instant. The behaviour emulated, and the choices made where DataWorks' documentation is
silent, are described in the README ("Testing your DAGs with the emulator"). Rules kept apart: ``cycles.py`` (a
scheduled instance's recurrence: SkipCycle, calendars), ``runs.py`` (backfills, manual runs, smoke tests); the
official value sets are ``vocab.py``'s.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from airflow_provider_dataworks.domain.regions import region_timezone, validate_timezone
from airflow_provider_dataworks.domain.timing import to_epoch_ms
from airflow_provider_dataworks.emulator import runs
from airflow_provider_dataworks.emulator.clock import EmulatorClock
from airflow_provider_dataworks.emulator.cycles import SchedulingCalendar, scheduled_recurrence
from airflow_provider_dataworks.emulator.schedule import CronSchedule, bizdate_of, daily_runs, parse_cron
from airflow_provider_dataworks.emulator.vocab import RerunMode, TriggerRecurrence, parse
from airflow_provider_dataworks.emulator.vocab import Status as S

TRIGGER_RETENTION = timedelta(hours=24)
HTTP_TRIGGER_TYPE = "SCHEDULER_TRIGGER"
#: The Alibaba Cloud account (UID) that owns every AccessKey and workspace a scenario gives to no other.
DEFAULT_ACCOUNT_ID = "1234567890123456"
#: The region a call counts in when its endpoint plays every region and it names no workspace (ListProjects).
DEFAULT_REGION = "cn-hangzhou"
#: What an API parameter can name -> (the 404 code DataWorks answers when it is not there, its noun).
RESOURCE_KINDS: dict[str, tuple[str, str]] = {
    "project": ("Invalid.Project.NotFound", "workspace (project)"),
    "task": ("Invalid.Task.NotFound", "task"),
    "instance": ("Invalid.TaskInstance.NotFound", "task instance"),
    "workflow_instance": ("Invalid.WorkflowInstance.NotFound", "workflow instance"),
}


class ApiError(Exception):
    """An OpenAPI error answer: HTTP status, ``Code`` and ``Message``."""

    def __init__(self, http_status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{http_status} {code}: {message}")
        self.http_status = http_status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class Caller:
    """Who makes an API call: its AccessKey, the account the key belongs to (an STS key: the account of the key
    or role it came from), and the region of the endpoint it called (None: an endpoint that plays every region)."""

    access_key_id: str
    account_id: str = DEFAULT_ACCOUNT_ID
    region: str | None = None


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


@dataclass(frozen=True)
class Settings:
    """Behaviours the vendor leaves unsettled, and generation timing."""

    repeat_trigger: str = "success"  # "success" | "error"
    generation_time: time = time(23, 30)
    region: str | None = None  # the region whose endpoint this plays (None: every region's workspaces)


class Backend:
    """All emulated state. Thread-safe: every public method takes the lock."""

    def __init__(self, clock: EmulatorClock | None = None, settings: Settings | None = None) -> None:
        self.clock = clock or EmulatorClock()
        self.settings = settings or Settings()
        self._lock = threading.RLock()
        #: One step of ``_settle`` per status: moves the instance on and returns True, or returns False.
        self._steps: dict[S, Callable[[Instance, Task, datetime], bool]] = {
            S.NOT_RUN: self._from_not_run,
            S.WAIT_TIME: self._from_wait_time,
            S.WAIT_TRIGGER: self._from_wait_trigger,
            S.WAIT_RESOURCE: self._from_wait_resource,
            S.RUNNING: self._from_running,
        }
        self.reset()

    # ----------------------------------------------------------------------------------- set-up
    def reset(self) -> None:
        """Forget every workspace, task and instance (the clock and settings stay)."""
        with self._lock:
            self.accounts: set[str] = {DEFAULT_ACCOUNT_ID}
            self.workspaces: dict[int, Workspace] = {}
            self.workflows: dict[int, Workflow] = {}
            self.tasks: dict[int, Task] = {}
            self.instances: dict[int, Instance] = {}
            self.workflow_instances: dict[int, WorkflowInstance] = {}
            self._by_task_time: dict[tuple[int, int], int] = {}
            self._workflow_instance_of: dict[tuple[int, date], int] = {}
            self._materialized: set[tuple[int, date]] = set()
            self._active: dict[int, Instance] = {}
            self._instance_ids = itertools.count(10_000_000_001)
            self._workflow_instance_ids = itertools.count(50_000_001)
            self._workflow_ids = itertools.count(900_001)

    def add_account(self, account_id: str) -> str:
        """Define an Alibaba Cloud account by its numeric id (UID); defining one twice is a no-op."""
        account_id = str(account_id)
        if not account_id.isdigit():
            raise ValueError(f"account id {account_id!r} must be the account's numeric id (UID), e.g. 1234567890123456")
        with self._lock:
            self.accounts.add(account_id)
        return account_id

    def known_account(self, account_id: str) -> str:
        """``account_id`` if it is defined, else a ValueError that says how to define it."""
        if account_id not in self.accounts:
            raise ValueError(f"account {account_id!r} is not defined: add it first (add_account / 'accounts:')")
        return account_id

    def add_workspace(
        self,
        workspace_id: int,
        region: str = DEFAULT_REGION,
        *,
        name: str | None = None,
        timezone: str | None = None,
        resource_capacity: int | None = None,
        resource_wait: timedelta = timedelta(0),
        account: str = DEFAULT_ACCOUNT_ID,
    ) -> Workspace:
        """Define a workspace of ``account`` in ``region``; its scheduling zone defaults from the region."""
        zone = timezone or region_timezone(region)
        if zone is None:
            raise ValueError(f"region {region!r} has no known scheduling zone: pass timezone=")
        validate_timezone(zone)
        with self._lock:
            if workspace_id in self.workspaces:
                raise ValueError(f"workspace {workspace_id} exists already")
            ws = Workspace(
                int(workspace_id), name or f"workspace_{workspace_id}", region, zone, resource_capacity, resource_wait,
                account_id=self.known_account(str(account)),
            )  # fmt: skip
            self.workspaces[ws.id] = ws
            self.add_workflow(ws.id, f"{ws.name}_workflow")
            return ws

    def add_workflow(self, workspace_id: int, name: str, workflow_id: int | None = None) -> Workflow:
        with self._lock:
            self._workspace(workspace_id)
            wf = Workflow(workflow_id or next(self._workflow_ids), workspace_id, name)
            self.workflows[wf.id] = wf
            return wf

    def add_task(
        self,
        workspace: Workspace | int,
        task_id: int,
        name: str,
        *,
        http_trigger: bool = False,
        cron: str = "0 0 * * *",
        upstream: Iterable[int] = (),
        duration: timedelta | None = None,
        outcome: str = "Success",
        recurrence: str = "Normal",
        workflow_id: int | None = None,
        env_type: str = "Prod",
        task_type: str | None = None,
        deployed_at: datetime | None = None,
        instance_mode: str = "T+1",
        failing_runs: int = 0,
        rerun_mode: str = "AllAllowed",
        calendar: SchedulingCalendar | Mapping[str, Iterable[date | str]] | None = None,
        owner: str | None = None,
        resource_group: str | None = None,
    ) -> Task:
        """Deploy a task. ``cron`` is read in the workspace zone; upstream tasks must exist already.

        ``failing_runs``: the first N runs of each of its instances fail (a rerun after them ends in ``outcome``).
        ``recurrence``: any official ``TriggerRecurrence`` (``Manual``: a manual task, no scheduled instances).
        ``rerun_mode``: ``AllAllowed`` / ``FailureAllowed`` / ``AllDenied``. ``calendar``: ``{"skip": [dates],
        "pause": [dates]}``, scheduled dates whose instances are ``SkipCalendar`` dry runs / ``PauseCalendar``.
        ``owner`` (account id) and ``resource_group`` default to the workspace's.
        """
        with self._lock:
            ws = self._workspace(workspace if isinstance(workspace, int) else workspace.id)
            ups = [int(u) for u in upstream]
            wf_id = self._check_new_task(ws, task_id, ups, instance_mode, workflow_id)
            if env_type not in ("Prod", "Dev"):
                raise ValueError(f"env_type {env_type!r} is not an official value (Prod, Dev)")
            task = Task(
                id=int(task_id),
                workspace_id=ws.id,
                workflow_id=wf_id,
                name=name,
                http_trigger=http_trigger,
                schedule=parse_cron(cron),
                upstream=ups,
                duration=duration if duration is not None else timedelta(0 if http_trigger else 60),
                outcome=S(outcome),
                recurrence=parse(TriggerRecurrence, recurrence, "recurrence"),
                env_type=env_type,
                task_type=task_type or (HTTP_TRIGGER_TYPE if http_trigger else "ODPS_SQL"),
                deployed_at=deployed_at,
                instance_mode=instance_mode,
                rank=1 + max((self.tasks[u].rank for u in ups), default=0),
                failing_runs=int(failing_runs),
                rerun_mode=parse(RerunMode, rerun_mode, "rerun_mode"),
                calendar=SchedulingCalendar.of(calendar),
                owner=owner,
                resource_group=resource_group,
            )
            if task.outcome not in S.terminal():
                raise ValueError("outcome must be 'Success' or 'Failure'")
            self.tasks[task.id] = task
            for ws_id, day in sorted(self._materialized):
                if ws_id == ws.id:
                    self._generate(task, day)
            return task

    def _check_new_task(
        self, ws: Workspace, task_id: int, ups: list[int], instance_mode: str, workflow_id: int | None
    ) -> int:
        """Raise ValueError unless a task ``task_id`` can be deployed so; its workflow id."""
        if task_id in self.tasks:
            raise ValueError(f"task {task_id} exists already")
        for up in ups:
            if up not in self.tasks or self.tasks[up].workspace_id != ws.id:
                raise ValueError(f"upstream task {up} of task {task_id} is not in workspace {ws.id}")
        if instance_mode not in ("T+1", "Immediately"):
            raise ValueError("instance_mode must be 'T+1' or 'Immediately'")
        wf_id = workflow_id or min(w.id for w in self.workflows.values() if w.workspace_id == ws.id)
        if wf_id not in self.workflows:
            raise ValueError(f"workflow {wf_id} does not exist")
        return wf_id

    # ----------------------------------------------------------------------------------- access
    def workspace_named(self, kind: str, ident: int) -> Workspace | None:
        """The workspace that a ``kind`` (a key of ``RESOURCE_KINDS``) with id ``ident`` belongs to; None if none."""
        with self._lock:
            if kind == "project":
                return self.workspaces.get(ident)
            owners: dict[str, Mapping[int, Task | Instance | WorkflowInstance]] = {
                "task": self.tasks, "instance": self.instances, "workflow_instance": self.workflow_instances,
            }  # fmt: skip
            owner = owners[kind].get(ident)
            return None if owner is None else self.workspaces[owner.workspace_id]

    def check_access(self, caller: Caller, kind: str, ident: int) -> None:
        """Raise as DataWorks does when ``caller`` may not use the ``kind`` ``ident`` names (unknown ids pass: the
        operation answers its own 404).

        A workspace of another region than the endpoint's does not exist there (404, as each region's endpoint
        knows only its workspaces); one of another account is 403 ``Forbidden.Access``, naming both accounts.
        """
        ws = self.workspace_named(kind, ident)
        if ws is None:
            return
        code, noun = RESOURCE_KINDS[kind]
        if caller.region is not None and ws.region != caller.region:
            raise ApiError(404, code, f"The {noun} {ident} does not exist in region {caller.region}.")
        if ws.account_id != caller.account_id:
            what = f"workspace {ws.id}" if kind == "project" else f"the {noun} {ident} of workspace {ws.id}"
            raise ApiError(
                403,
                "Forbidden.Access",
                f"Access is forbidden: account {caller.account_id} (AccessKey {caller.access_key_id}) may not "
                f"access {what} ({ws.name}), which belongs to account {ws.account_id}.",
            )

    def visible(self, caller: Caller) -> list[Workspace]:
        """The workspaces ``caller`` sees (its account's, in its endpoint's region), by id."""
        with self._lock:
            return [
                ws for _, ws in sorted(self.workspaces.items())
                if ws.account_id == caller.account_id and self._served(ws)
                and caller.region in (None, ws.region)
            ]  # fmt: skip

    # ----------------------------------------------------------------------------------- reads
    def now(self) -> datetime:
        return self.clock.now()

    def workspace(self, workspace_id: int) -> Workspace:
        with self._lock:
            return self._workspace(workspace_id)

    def task(self, task_id: int) -> Task:
        with self._lock:
            task = self.tasks.get(task_id)
            if task is None or not self._served(self.workspaces[task.workspace_id]):
                raise ApiError(404, "Invalid.Task.NotFound", f"The task {task_id} does not exist{self._here}.")
            return task

    def instance(self, instance_id: int) -> Instance:
        with self._lock:
            self.advance()
            inst = self.instances.get(instance_id)
            if inst is None:
                raise ApiError(404, "Invalid.TaskInstance.NotFound", f"The task instance {instance_id} does not exist.")
            return inst

    def list_instances(self, project_id: int, bizdate_ms: int) -> list[Instance]:
        """Every instance of a workspace whose business date is ``bizdate_ms`` (00:00 in its zone)."""
        with self._lock:
            ws = self._workspace(project_id)
            # A Bizdate that is not 00:00 in the workspace zone is read as the day it falls on there.
            day = datetime.fromtimestamp(bizdate_ms / 1000, tz=ws.zone).date() + timedelta(days=1)
            self._ensure_day(ws, day)
            self.advance()
            return [i for i in self.instances.values() if i.workspace_id == ws.id and i.scheduled_day == day]

    def downstream(self, instance_id: int) -> list[Instance]:
        with self._lock:
            inst = self.instance(instance_id)
            return [self.instances[i] for i in inst.downstream_ids]

    def workflow_instance(self, workflow_instance_id: int) -> WorkflowInstance:
        with self._lock:
            self.advance()
            wfi = self.workflow_instances.get(workflow_instance_id)
            if wfi is None:
                raise ApiError(
                    404,
                    "Invalid.WorkflowInstance.NotFound",
                    f"The workflow instance {workflow_instance_id} does not exist.",
                )
            return wfi

    def workflow_status(self, wfi: WorkflowInstance) -> tuple[S, datetime | None, datetime | None]:
        """Status, start and finish of a workflow instance, derived from its task instances."""
        members = [self.instances[i] for i in wfi.instance_ids]
        statuses = {m.status for m in members}
        started = [m.started_at for m in members if m.started_at]
        finished = [m.finished_at for m in members if m.finished_at]
        if S.FAILURE in statuses:
            return S.FAILURE, min(started, default=None), max(finished, default=None)
        if members and statuses == {S.SUCCESS}:
            return S.SUCCESS, min(started, default=None), max(finished, default=None)
        if started or S.SUCCESS in statuses:
            return S.RUNNING, min(started, default=None), None
        if statuses & {S.WAIT_TIME, S.WAIT_TRIGGER}:
            return S.WAIT_TIME, None, None
        return S.NOT_RUN, None, None

    def find_instance(self, task_id: int, trigger_time_ms: int, env_type: str | None = None) -> Instance | None:
        """The instance of (task, scheduled time), generating its day if due; None if there is none."""
        with self._lock:
            task = self.task(task_id)
            if env_type is not None and env_type != task.env_type:
                return None
            ws = self.workspaces[task.workspace_id]
            day = datetime.fromtimestamp(trigger_time_ms / 1000, tz=ws.zone).date()
            for d in (day, day + timedelta(days=1)):  # a DST-delayed run can cross midnight
                self._ensure_day(ws, d)
            self.advance()
            inst_id = self._by_task_time.get((task_id, trigger_time_ms))
            return self.instances[inst_id] if inst_id is not None else None

    # ----------------------------------------------------------------------------------- actions
    def trigger(self, task_id: int, trigger_time_ms: int, env_type: str) -> Instance:
        """TriggerSchedulerTaskInstance: release a waiting HTTP-trigger instance.

        A trigger sent before WaitTrigger is kept (a newer one replaces it) and consumed there within 24 hours.
        A repeated trigger, or one for a dry-run or paused instance, has no effect (``Settings.repeat_trigger``
        says how it is answered); a frozen instance refuses it.
        """
        with self._lock:
            task = self.task(task_id)
            if not task.http_trigger:
                raise ApiError(400, "Invalid.Param", f"The task {task_id} is not an HTTP trigger node.")
            inst = self.find_instance(task_id, trigger_time_ms, env_type)
            if inst is None:
                raise ApiError(
                    404,
                    "Invalid.TaskInstance.NotFound",
                    f"No {env_type} instance of task {task_id} is scheduled at TriggerTime {trigger_time_ms}.",
                )
            if inst.frozen:
                raise ApiError(
                    400,
                    "Forbidden.TaskInstance.Frozen",
                    f"The task instance {inst.id} is frozen; resume it before triggering.",
                )
            now = self.now()
            done_before = inst.triggered_at is not None or inst.status not in S.before_trigger()
            if done_before or inst.recurrence != TriggerRecurrence.NORMAL:
                inst.repeated_triggers += 1
                if self.settings.repeat_trigger == "error":
                    raise ApiError(
                        400,
                        "Invalid.TaskInstance.AlreadyTriggered",
                        f"The task instance {inst.id} is not waiting for a trigger (status {inst.status.value}).",
                    )
                return inst
            inst.pending_trigger_at = now
            inst.accepted_triggers += 1
            self._settle(inst, now)
            return inst

    def stop(self, ids: Iterable[int]) -> dict[int, tuple[bool, str]]:
        """StopTaskInstances: each unfinished instance ends Failure now; its downstream then never run."""
        return self._per_instance(ids, self._stop_one)

    def stop_workflows(self, ids: Iterable[int]) -> dict[int, tuple[bool, str]]:
        """StopWorkflowInstances: every unfinished member of each workflow instance is stopped (ends Failure), so
        nothing of it runs later; the workflow instance then reads Failure."""
        with self._lock:
            self.advance()
            now = self.now()
            result: dict[int, tuple[bool, str]] = {}
            for wfi_id in (int(i) for i in ids):
                wfi = self.workflow_instances.get(wfi_id)
                if wfi is None:
                    result[wfi_id] = (False, "The workflow instance does not exist.")
                    continue
                unfinished = [self.instances[i] for i in wfi.instance_ids if not self.instances[i].status.is_terminal]
                if not unfinished:
                    result[wfi_id] = (False, f"The workflow instance is already {self.workflow_status(wfi)[0].value}.")
                    continue
                for inst in unfinished:
                    self._stop_one(inst, now)
                result[wfi_id] = (True, "")
            return result

    def rerun(self, ids: Iterable[int], use_latest_config: bool | None = None) -> dict[int, tuple[bool, str]]:
        """RerunTaskInstances: each finished instance its ``RerunMode`` allows runs again (its RunNumber + 1; the
        run before is kept in its history); its downstream follow. ``use_latest_config`` is recorded on it, and when
        true the instance takes its task's current rerun mode for later reruns."""

        def rerun_one(inst: Instance, now: datetime) -> str | None:
            refused = self._rerun_refused(inst)
            if refused is None:
                inst.use_latest_config = use_latest_config
                if use_latest_config:
                    inst.rerun_mode = self.tasks[inst.task_id].rerun_mode
                self._rerun_one(inst, now)
            return refused

        return self._per_instance(ids, rerun_one)

    @staticmethod
    def _rerun_refused(inst: Instance) -> str | None:
        """Why ``inst`` may not be rerun now (None: it may)."""
        if not inst.status.is_terminal:
            return f"Only a finished instance can be rerun; it is {inst.status.value}."
        mode = inst.rerun_mode
        if mode == RerunMode.ALL_DENIED:
            return "The task instance cannot be rerun: its RerunMode is AllDenied (no rerun, failed or succeeded)."
        if mode == RerunMode.FAILURE_ALLOWED and inst.status == S.SUCCESS:
            return "The task instance cannot be rerun: its RerunMode is FailureAllowed and it succeeded."
        return None

    def set_success(self, ids: Iterable[int]) -> dict[int, tuple[bool, str]]:
        return self._per_instance(ids, lambda inst, now: self._force(inst, S.SUCCESS, now))

    def suspend(self, ids: Iterable[int]) -> dict[int, tuple[bool, str]]:
        return self._per_instance(ids, lambda inst, now: self._freeze(inst, True))

    def resume(self, ids: Iterable[int]) -> dict[int, tuple[bool, str]]:
        return self._per_instance(ids, lambda inst, now: self._freeze(inst, False))

    def set_status(self, instance_id: int, status: str) -> Instance:
        """Force an instance into ``status`` now (test control, not an API operation)."""
        with self._lock:
            inst = self.instance(instance_id)
            self._force(inst, S(status), self.now())
            return inst

    # ----------------------------------------------------------------------------------- simulation
    def advance(self) -> None:
        """Move every active instance forward to the clock's now, upstream before downstream."""
        with self._lock:
            now = self.now()
            order = sorted(
                self._active.values(),
                key=lambda i: (i.scheduled_day, self.tasks[i.task_id].rank, i.trigger_time, i.id),
            )
            for inst in order:
                self._settle(inst, now)

    def _settle(self, inst: Instance, now: datetime) -> None:
        """Move ``inst`` through as many statuses as ``now`` allows; a finished instance leaves ``_active``."""
        task = self.tasks[inst.task_id]
        while not inst.frozen and not inst.status.is_terminal:
            step = self._steps.get(inst.status)  # CheckingCondition / Checking: only set by hand, never move
            if step is None or not step(inst, task, now):
                break
        if inst.status.is_terminal:
            self._active.pop(inst.id, None)

    def _from_not_run(self, inst: Instance, task: Task, now: datetime) -> bool:
        """NotRun -> WaitTime once every upstream instance succeeded (at the last one's finish)."""
        ups = [self.instances[u] for u in inst.upstream_ids]
        ready = max([inst.created_at] + [u.finished_at or inst.created_at for u in ups])
        if any(u.status != S.SUCCESS for u in ups) or now < ready:
            self._expire_kept_trigger(inst, now)
            return False
        inst.ready_at = ready
        self._set(inst, S.WAIT_TIME, ready)
        return True

    def _from_wait_time(self, inst: Instance, task: Task, now: datetime) -> bool:
        """At the scheduled time: a dry run (Skip...) ends Success, a paused one (Pause...) Failure, else
        WaitTrigger (a scheduled HTTP trigger instance) / WaitResource."""
        assert inst.ready_at is not None
        at = max(inst.ready_at, inst.run_at or inst.trigger_time)
        if now < at:
            self._expire_kept_trigger(inst, now)
            return False
        recurrence = parse(TriggerRecurrence, inst.recurrence, "recurrence")
        if recurrence.is_dry_run:
            inst.finished_at = at
            inst.releases += 1 if task.http_trigger else 0
            self._set(inst, S.SUCCESS, at)
        elif recurrence.is_paused:
            inst.finished_at = at
            self._set(inst, S.FAILURE, at)
        elif task.http_trigger and inst.workflow_instance_type == "Normal":
            inst.waiting_trigger_at = at
            self._set(inst, S.WAIT_TRIGGER, at)
        else:
            inst.waiting_resource_at = at
            self._set(inst, S.WAIT_RESOURCE, at)
        return True

    def _from_wait_trigger(self, inst: Instance, task: Task, now: datetime) -> bool:
        """WaitTrigger -> WaitResource on a pending trigger; one kept more than 24 hours is dropped instead."""
        assert inst.waiting_trigger_at is not None
        pending = inst.pending_trigger_at
        if pending is None:
            return False
        if inst.waiting_trigger_at > pending + TRIGGER_RETENTION:
            self._drop_trigger(inst)
            return False
        at = max(pending, inst.waiting_trigger_at)
        inst.pending_trigger_at = None
        inst.triggered_at = at
        inst.releases += 1
        inst.waiting_resource_at = at
        self._set(inst, S.WAIT_RESOURCE, at)
        return True

    def _from_wait_resource(self, inst: Instance, task: Task, now: datetime) -> bool:
        """WaitResource -> Running after the workspace's ``resource_wait``, once a slot is free."""
        assert inst.waiting_resource_at is not None
        ws = self.workspaces[inst.workspace_id]
        start = self._free_slot(ws, inst.waiting_resource_at + ws.resource_wait, inst)
        if now < start:
            return False
        inst.started_at = start
        self._set(inst, S.RUNNING, start)
        return True

    def _from_running(self, inst: Instance, task: Task, now: datetime) -> bool:
        """Running -> the task's outcome after its duration."""
        assert inst.started_at is not None
        end = inst.started_at + task.duration
        if now < end:
            return False
        inst.finished_at = end
        self._set(inst, S.FAILURE if inst.run_number <= task.failing_runs else task.outcome, end)
        return True

    def _expire_kept_trigger(self, inst: Instance, now: datetime) -> None:
        """Drop a trigger kept more than 24 hours for an instance that is still not waiting for it at ``now``.

        (Checked only where the instance cannot move on, so one long clock jump keeps the order of events:
        an instance that became ready within the 24 hours consumes the trigger first.)
        """
        if inst.pending_trigger_at is not None and now > inst.pending_trigger_at + TRIGGER_RETENTION:
            self._drop_trigger(inst)

    def _drop_trigger(self, inst: Instance) -> None:
        inst.pending_trigger_at = None
        inst.dropped_triggers += 1

    def _free_slot(self, ws: Workspace, at: datetime, inst: Instance) -> datetime:
        """The first moment from ``at`` at which fewer than ``resource_capacity`` instances run."""
        if ws.resource_capacity is None:
            return at
        while True:
            ends = [
                (o.finished_at or o.started_at + self.tasks[o.task_id].duration)
                for o in self.instances.values()
                if o.workspace_id == ws.id and o is not inst and o.started_at is not None and o.started_at <= at
            ]
            busy = [end for end in ends if end > at]
            if len(busy) < ws.resource_capacity:
                return at
            at = min(busy)

    def _set(self, inst: Instance, status: S, at: datetime) -> None:
        inst.status = status
        inst.modified_at = at

    # ----------------------------------------------------------------------------------- generation
    def generation_time(self, ws: Workspace, day: date) -> datetime:
        """When the instances of scheduled day ``day`` are generated (T+1: the evening before)."""
        return datetime.combine(day - timedelta(days=1), self.settings.generation_time, tzinfo=ws.zone)

    def _ensure_day(self, ws: Workspace, day: date) -> None:
        if (ws.id, day) in self._materialized:
            return
        now = self.now()
        immediate = [
            t
            for t in self.tasks.values()
            if t.workspace_id == ws.id
            and t.instance_mode == "Immediately"
            and t.deployed_at is not None
            and t.deployed_at.astimezone(ws.zone).date() == day
        ]
        if now < self.generation_time(ws, day) and not immediate:
            return
        self._materialized.add((ws.id, day))
        for task in sorted((t for t in self.tasks.values() if t.workspace_id == ws.id), key=lambda t: t.rank):
            self._generate(task, day)

    def _generate(self, task: Task, day: date) -> None:
        """Create ``task``'s instances of scheduled day ``day`` (if due) and link them to their upstreams.

        Only tasks deployed before ``generation_time`` get the day, except that an ``Immediately`` task gets
        the rest of its deploy day. A weekly / monthly node gets an instance every day (``SkipCycle`` dry runs
        outside its cycle); a ``Manual`` task none (it is not scheduled).
        """
        ws = self.workspaces[task.workspace_id]
        gen_at = self.generation_time(ws, day)
        if task.recurrence == TriggerRecurrence.MANUAL:
            return
        runs = daily_runs(task.schedule, day, ws.timezone)
        if task.deployed_at is not None and task.deployed_at >= gen_at:
            immediate = task.instance_mode == "Immediately" and task.deployed_at.astimezone(ws.zone).date() == day
            if not immediate or self.now() < task.deployed_at:
                return
            runs = [r for r in runs if r.scheduled_at > task.deployed_at]
            gen_at = task.deployed_at
        if any((task.id, to_epoch_ms(r.scheduled_at)) in self._by_task_time for r in runs):
            return
        wfi = self._workflow_instance(task.workflow_id, ws, day)
        created = []
        for period, run in enumerate(runs, start=1):
            recurrence = scheduled_recurrence(task.recurrence, run, day, task.calendar)
            inst = self.new_instance(task, wfi, run.scheduled_at, period, recurrence, gen_at)
            self._by_task_time[(task.id, to_epoch_ms(run.scheduled_at))] = inst.id
            created.append(inst)
        self._link_upstream(task, created, day)

    def new_instance(
        self, task: Task, wfi: WorkflowInstance, at: datetime, period: int, recurrence: TriggerRecurrence,
        created: datetime,
    ) -> Instance:  # fmt: skip
        """Add one active instance of ``task`` scheduled ``at`` to workflow instance ``wfi`` (caller holds the lock)."""
        inst = Instance(
            id=next(self._instance_ids),
            task_id=task.id,
            workspace_id=task.workspace_id,
            workflow_instance_id=wfi.id,
            scheduled_day=wfi.scheduled_day,
            trigger_time=at,
            bizdate=wfi.bizdate,
            period_number=period,
            recurrence=recurrence,
            created_at=created,
            modified_at=created,
            workflow_instance_type=wfi.type,
            rerun_mode=task.rerun_mode,
        )
        self.instances[inst.id] = inst
        self._active[inst.id] = inst
        wfi.instance_ids.append(inst.id)
        return inst

    def _link_upstream(self, task: Task, created: list[Instance], day: date) -> None:
        """An instance depends on the upstream's scheduled instance with the same period number when both tasks
        have as many that day, else on all of them (never on another day's, nor on a backfill's or manual run's)."""
        for up_task_id in task.upstream:
            ups = sorted(
                (
                    i for i in self.instances.values()
                    if i.task_id == up_task_id and i.scheduled_day == day and i.workflow_instance_type == "Normal"
                ),
                key=lambda i: i.trigger_time,
            )  # fmt: skip
            for inst in created:
                linked = [ups[inst.period_number - 1]] if len(ups) == len(created) else ups
                for up in linked:
                    inst.upstream_ids.append(up.id)
                    up.downstream_ids.append(inst.id)

    def _workflow_instance(self, workflow_id: int, ws: Workspace, day: date) -> WorkflowInstance:
        """The scheduled (``Normal``) workflow instance of ``workflow_id`` and ``day``, created when first needed."""
        key = (workflow_id, day)
        if key not in self._workflow_instance_of:
            wfi = self.new_workflow_instance(workflow_id, ws, day, "Normal", self.generation_time(ws, day))
            self._workflow_instance_of[key] = wfi.id
        return self.workflow_instances[self._workflow_instance_of[key]]

    def new_workflow_instance(
        self, workflow_id: int, ws: Workspace, day: date, kind: str, created: datetime
    ) -> WorkflowInstance:
        """A new workflow instance of type ``kind`` for scheduled day ``day`` (caller holds the lock)."""
        wfi = WorkflowInstance(
            next(self._workflow_instance_ids), workflow_id, ws.id, day, bizdate_of(day, ws.timezone), created, type=kind
        )
        self.workflow_instances[wfi.id] = wfi
        return wfi

    def add_instance_run(
        self, task_id: int, scheduled_at_ms: int, workflow_instance_type: str, *, status: str | None = None
    ) -> Instance:
        """A backfill, manual run, smoke test or triggered workflow of ``task_id`` for the day whose scheduled
        TriggerTime is ``scheduled_at_ms``: see ``runs.add_instance_run``."""
        with self._lock:
            return runs.add_instance_run(self, task_id, scheduled_at_ms, workflow_instance_type, status)

    # ----------------------------------------------------------------------------------- helpers
    def _workspace(self, workspace_id: int) -> Workspace:
        ws = self.workspaces.get(workspace_id)
        if ws is None or not self._served(ws):
            raise ApiError(
                404, "Invalid.Project.NotFound", f"The workspace (project) {workspace_id} does not exist{self._here}."
            )
        return ws

    def _served(self, ws: Workspace) -> bool:
        return self.settings.region is None or ws.region == self.settings.region

    @property
    def _here(self) -> str:
        return f" in region {self.settings.region}" if self.settings.region else ""

    def _per_instance(
        self, ids: Iterable[int], action: Callable[[Instance, datetime], str | None]
    ) -> dict[int, tuple[bool, str]]:
        with self._lock:
            self.advance()
            now = self.now()
            result: dict[int, tuple[bool, str]] = {}
            for instance_id in ids:
                inst = self.instances.get(int(instance_id))
                if inst is None:
                    result[int(instance_id)] = (False, "The task instance does not exist.")
                    continue
                message = action(inst, now)
                result[inst.id] = (message is None, message or "")
            return result

    def _stop_one(self, inst: Instance, now: datetime) -> str | None:
        if inst.status.is_terminal:
            return f"The task instance is already {inst.status.value}."
        inst.pending_trigger_at = None  # a kept trigger goes with it: a stopped instance is never released
        inst.finished_at = now
        self._set(inst, S.FAILURE, now)
        self._active.pop(inst.id, None)
        return None

    def _rerun_one(self, inst: Instance, now: datetime) -> str | None:
        inst.history.append(replace(inst, history=[], upstream_ids=[], downstream_ids=[]))
        inst.run_number += 1
        inst.ready_at = inst.started_at = inst.finished_at = None
        inst.waiting_trigger_at = inst.waiting_resource_at = None
        inst.created_at = max(inst.created_at, now)
        if self.tasks[inst.task_id].http_trigger:
            inst.triggered_at = None
        self._set(inst, S.NOT_RUN, now)
        self._active[inst.id] = inst
        self._settle(inst, now)
        return None

    def _force(self, inst: Instance, status: S, now: datetime) -> str | None:
        if status.is_terminal:
            inst.started_at = inst.started_at or now
            inst.finished_at = now
            self._active.pop(inst.id, None)
        else:
            inst.finished_at = None
            self._active[inst.id] = inst
            if status == S.RUNNING:
                inst.started_at = now
            elif status == S.WAIT_TRIGGER:
                inst.waiting_trigger_at = now
            elif status == S.WAIT_RESOURCE:
                inst.waiting_resource_at = now
            elif status == S.WAIT_TIME:
                inst.ready_at = inst.ready_at or now
        self._set(inst, status, now)
        return None

    def _freeze(self, inst: Instance, frozen: bool) -> str | None:
        inst.frozen = frozen
        return None
