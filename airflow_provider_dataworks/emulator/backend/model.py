"""``Backend``: the emulated DataWorks as one thread-safe object, the handle the API layer and tests hold.

A thin facade: it owns the ``State`` and the lock, and each method is one function of ``seeding`` (the scenario),
``access`` (accounts and who may see what), ``queries`` (reads), ``instance_actions`` (trigger, stop, rerun, ...),
``lifecycle`` (instances moving with the clock) or ``instance_runs`` (backfills, manual runs, smoke tests). It
knows nothing of HTTP: ``api/`` parses requests and renders answers from it. The behaviour emulated, and the
choices made where DataWorks' documentation is silent, are described in docs/reference/emulator-fidelity.md.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from airflow_provider_dataworks.emulator.backend import (
    access,
    instance_actions,
    instance_runs,
    lifecycle,
    queries,
    seeding,
)
from airflow_provider_dataworks.emulator.backend.access import Caller
from airflow_provider_dataworks.emulator.backend.entities import (
    DEFAULT_REGION,
    Instance,
    Task,
    Workflow,
    WorkflowInstance,
    Workspace,
)
from airflow_provider_dataworks.emulator.backend.instance_actions import Outcome
from airflow_provider_dataworks.emulator.backend.state import Settings, State
from airflow_provider_dataworks.emulator.backend.vocab import Status
from airflow_provider_dataworks.emulator.clock import EmulatorClock


class Backend:
    """All emulated state. Thread-safe: every method takes the lock."""

    def __init__(self, clock: EmulatorClock | None = None, settings: Settings | None = None) -> None:
        self.clock = clock or EmulatorClock()
        self._state = State(self.clock, settings or Settings())
        self._lock = threading.RLock()

    # ----------------------------------------------------------------------------------- the state
    @property
    def settings(self) -> Settings:
        return self._state.settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        self._state.settings = settings

    @property
    def accounts(self) -> set[str]:
        return self._state.accounts

    @property
    def workspaces(self) -> dict[int, Workspace]:
        return self._state.workspaces

    @property
    def workflows(self) -> dict[int, Workflow]:
        return self._state.workflows

    @property
    def tasks(self) -> dict[int, Task]:
        return self._state.tasks

    @property
    def instances(self) -> dict[int, Instance]:
        return self._state.instances

    @property
    def workflow_instances(self) -> dict[int, WorkflowInstance]:
        return self._state.workflow_instances

    def now(self) -> datetime:
        return self.clock.now()

    # ----------------------------------------------------------------------------------- the scenario
    def reset(self) -> None:
        """Forget every workspace, task and instance (the clock and settings stay)."""
        with self._lock:
            self._state.clear()

    def add_account(self, account_id: str) -> str:
        """Define an Alibaba Cloud account by its numeric id (UID); defining one twice is a no-op."""
        with self._lock:
            return access.add_account(self._state, account_id)

    def known_account(self, account_id: str) -> str:
        """``account_id`` if it is defined, else a ValueError that says how to define it."""
        with self._lock:
            return access.known_account(self._state, account_id)

    def add_workspace(self, workspace_id: int, region: str = DEFAULT_REGION, **options: Any) -> Workspace:
        """Define a workspace; options (``name``, ``timezone``, ``resource_capacity``, ``resource_wait``,
        ``account``): see :func:`seeding.add_workspace`."""
        with self._lock:
            return seeding.add_workspace(self._state, workspace_id, region, **options)

    def add_workflow(self, workspace_id: int, name: str, workflow_id: int | None = None) -> Workflow:
        with self._lock:
            return seeding.add_workflow(self._state, workspace_id, name, workflow_id)

    def add_task(self, workspace: Workspace | int, task_id: int, name: str, **options: Any) -> Task:
        """Deploy a task; options: the fields of :class:`seeding.TaskOptions` (``cron`` in the workspace zone)."""
        with self._lock:
            return seeding.add_task(self._state, workspace, task_id, name, seeding.TaskOptions(**options))

    def add_instance_run(
        self, task_id: int, scheduled_at_ms: int, workflow_instance_type: str, *, status: str | None = None
    ) -> Instance:
        """A backfill, manual run, smoke test or triggered workflow of ``task_id`` for the day whose scheduled
        TriggerTime is ``scheduled_at_ms``: see ``instance_runs.add_instance_run``."""
        with self._lock:
            return instance_runs.add_instance_run(self._state, task_id, scheduled_at_ms, workflow_instance_type, status)

    # ----------------------------------------------------------------------------------- access
    def workspace_named(self, kind: str, ident: int) -> Workspace | None:
        """The workspace that a ``kind`` (a key of ``access.RESOURCE_KINDS``) with id ``ident`` belongs to."""
        with self._lock:
            return access.workspace_named(self._state, kind, ident)

    def check_access(self, caller: Caller, kind: str, ident: int) -> None:
        """Raise as DataWorks does when ``caller`` may not use what ``kind`` ``ident`` names."""
        with self._lock:
            access.check_access(self._state, caller, kind, ident)

    def visible(self, caller: Caller) -> list[Workspace]:
        """The workspaces ``caller`` sees (its account's, in its endpoint's region), by id."""
        with self._lock:
            return access.visible(self._state, caller)

    # ----------------------------------------------------------------------------------- reads
    def workspace(self, workspace_id: int) -> Workspace:
        with self._lock:
            return self._state.workspace(workspace_id)

    def task(self, task_id: int) -> Task:
        with self._lock:
            return self._state.task(task_id)

    def instance(self, instance_id: int) -> Instance:
        with self._lock:
            return queries.instance(self._state, instance_id)

    def list_instances(self, project_id: int, bizdate_ms: int) -> list[Instance]:
        """Every instance of a workspace whose business date is ``bizdate_ms`` (00:00 in its zone)."""
        with self._lock:
            return queries.list_instances(self._state, project_id, bizdate_ms)

    def downstream(self, instance_id: int) -> list[Instance]:
        with self._lock:
            return queries.downstream(self._state, instance_id)

    def workflow_instance(self, workflow_instance_id: int) -> WorkflowInstance:
        with self._lock:
            return queries.workflow_instance(self._state, workflow_instance_id)

    def workflow_status(self, wfi: WorkflowInstance) -> tuple[Status, datetime | None, datetime | None]:
        """Status, start and finish of a workflow instance, derived from its task instances."""
        with self._lock:
            return queries.workflow_status(self._state, wfi)

    def find_instance(self, task_id: int, trigger_time_ms: int, env_type: str | None = None) -> Instance | None:
        """The instance of (task, scheduled time), generating its day if due; None if there is none."""
        with self._lock:
            return queries.find_instance(self._state, task_id, trigger_time_ms, env_type)

    # ----------------------------------------------------------------------------------- actions
    def trigger(self, task_id: int, trigger_time_ms: int, env_type: str) -> Instance:
        """TriggerSchedulerTaskInstance: see :func:`instance_actions.trigger`."""
        with self._lock:
            return instance_actions.trigger(self._state, task_id, trigger_time_ms, env_type)

    def stop(self, ids: Iterable[int]) -> Outcome:
        with self._lock:
            return instance_actions.stop(self._state, ids)

    def stop_workflows(self, ids: Iterable[int]) -> Outcome:
        with self._lock:
            return instance_actions.stop_workflows(self._state, ids)

    def rerun(self, ids: Iterable[int], use_latest_config: bool | None = None) -> Outcome:
        with self._lock:
            return instance_actions.rerun(self._state, ids, use_latest_config)

    def set_success(self, ids: Iterable[int]) -> Outcome:
        with self._lock:
            return instance_actions.set_success(self._state, ids)

    def suspend(self, ids: Iterable[int]) -> Outcome:
        with self._lock:
            return instance_actions.suspend(self._state, ids)

    def resume(self, ids: Iterable[int]) -> Outcome:
        with self._lock:
            return instance_actions.resume(self._state, ids)

    def set_status(self, instance_id: int, status: str) -> Instance:
        """Force an instance into ``status`` now (test control, not an API operation)."""
        with self._lock:
            return instance_actions.set_status(self._state, instance_id, status)

    # ----------------------------------------------------------------------------------- the clock
    def advance(self) -> None:
        """Move every active instance forward to the clock's now, upstream before downstream."""
        with self._lock:
            lifecycle.advance(self._state)
