"""The emulated DataWorks' model: its state and rules, split by concern, with no HTTP in it.

``model.Backend`` is the one handle (thread-safe) over ``state`` (the tables), ``entities`` (the records),
``seeding`` (workspaces, tasks), ``access`` (accounts, who may see what), ``generation`` (scheduled instances from
crons: ``schedule``, ``recurrence``), ``lifecycle`` (the instance state machine), ``instance_actions`` (trigger,
stop, rerun, ...), ``instance_runs`` (backfills, manual runs, smoke tests) and ``queries`` (reads); ``vocab`` has
the official enums and ``errors`` the vendor's error. The API layer (``emulator/api``) reaches it; never the reverse.
"""

from airflow_provider_dataworks.emulator.backend.access import RESOURCE_KINDS, Caller
from airflow_provider_dataworks.emulator.backend.entities import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    Instance,
    Task,
    Workflow,
    WorkflowInstance,
    Workspace,
)
from airflow_provider_dataworks.emulator.backend.errors import ApiError
from airflow_provider_dataworks.emulator.backend.model import Backend
from airflow_provider_dataworks.emulator.backend.state import Settings

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_REGION",
    "RESOURCE_KINDS",
    "ApiError",
    "Backend",
    "Caller",
    "Instance",
    "Settings",
    "Task",
    "Workflow",
    "WorkflowInstance",
    "Workspace",
]
