"""``State``: everything the emulated DataWorks holds (its tables, indexes and id counters), with the lookups
that answer DataWorks' 404s; ``Settings``: the behaviours the vendor leaves unsettled.

The other backend modules are functions of a ``State``; ``model.Backend`` holds one and its lock.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, time

from airflow_provider_dataworks.emulator.backend.entities import (
    DEFAULT_ACCOUNT_ID,
    Instance,
    Task,
    Workflow,
    WorkflowInstance,
    Workspace,
)
from airflow_provider_dataworks.emulator.backend.errors import ApiError
from airflow_provider_dataworks.emulator.clock import EmulatorClock


@dataclass(frozen=True)
class Settings:
    """Behaviours the vendor leaves unsettled, and generation timing."""

    repeat_trigger: str = "success"  # "success" | "error"
    generation_time: time = time(23, 30)
    region: str | None = None  # the region whose endpoint this plays (None: every region's workspaces)


class State:
    """The tables of the model and its clock and settings (no lock: ``model.Backend`` holds it)."""

    def __init__(self, clock: EmulatorClock, settings: Settings) -> None:
        self.clock = clock
        self.settings = settings
        self.clear()

    def clear(self) -> None:
        """Forget every account but the default one, every workspace, task and instance."""
        self.accounts: set[str] = {DEFAULT_ACCOUNT_ID}
        self.workspaces: dict[int, Workspace] = {}
        self.workflows: dict[int, Workflow] = {}
        self.tasks: dict[int, Task] = {}
        self.instances: dict[int, Instance] = {}
        self.workflow_instances: dict[int, WorkflowInstance] = {}
        #: (task id, scheduled time in epoch ms) -> its scheduled instance's id
        self.scheduled_instance_of: dict[tuple[int, int], int] = {}
        #: (workflow id, scheduled day) -> its scheduled (``Normal``) workflow instance's id
        self.scheduled_workflow_instance_of: dict[tuple[int, date], int] = {}
        #: (workspace id, scheduled day) whose instances were generated
        self.generated_days: set[tuple[int, date]] = set()
        #: instances that may still move (not finished): what ``lifecycle.advance`` settles
        self.active: dict[int, Instance] = {}
        self.instance_ids = itertools.count(10_000_000_001)
        self.workflow_instance_ids = itertools.count(50_000_001)
        self.workflow_ids = itertools.count(900_001)

    def now(self) -> datetime:
        return self.clock.now()

    def served(self, ws: Workspace) -> bool:
        """Whether the endpoint this model plays knows ``ws`` (one that plays a region knows only its workspaces)."""
        return self.settings.region is None or ws.region == self.settings.region

    @property
    def here(self) -> str:
        """`` in region R`` when the model plays one region (for 404 messages), else nothing."""
        return f" in region {self.settings.region}" if self.settings.region else ""

    def workspace(self, workspace_id: int) -> Workspace:
        """The workspace ``workspace_id``, or DataWorks' 404."""
        ws = self.workspaces.get(workspace_id)
        if ws is None or not self.served(ws):
            raise ApiError(
                404, "Invalid.Project.NotFound", f"The workspace (project) {workspace_id} does not exist{self.here}."
            )
        return ws

    def task(self, task_id: int) -> Task:
        """The task ``task_id``, or DataWorks' 404."""
        task = self.tasks.get(task_id)
        if task is None or not self.served(self.workspaces[task.workspace_id]):
            raise ApiError(404, "Invalid.Task.NotFound", f"The task {task_id} does not exist{self.here}.")
        return task
