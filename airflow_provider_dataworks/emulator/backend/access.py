"""Who may see what: accounts, the caller of an API call, and DataWorks' access checks (region, then account).

A workspace belongs to one account and one region; every task, instance and workflow instance is its
workspace's. A caller sees only its account's workspaces in its endpoint's region.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from airflow_provider_dataworks.emulator.backend.entities import (
    DEFAULT_ACCOUNT_ID,
    Instance,
    Task,
    WorkflowInstance,
    Workspace,
)
from airflow_provider_dataworks.emulator.backend.errors import ApiError
from airflow_provider_dataworks.emulator.backend.state import State

#: What an API parameter can name -> (the 404 code DataWorks answers when it is not there, its noun).
RESOURCE_KINDS: dict[str, tuple[str, str]] = {
    "project": ("Invalid.Project.NotFound", "workspace (project)"),
    "task": ("Invalid.Task.NotFound", "task"),
    "instance": ("Invalid.TaskInstance.NotFound", "task instance"),
    "workflow_instance": ("Invalid.WorkflowInstance.NotFound", "workflow instance"),
}


@dataclass(frozen=True)
class Caller:
    """Who makes an API call: its AccessKey, the account the key belongs to (an STS key: the account of the key
    or role it came from), and the region of the endpoint it called (None: an endpoint that plays every region)."""

    access_key_id: str
    account_id: str = DEFAULT_ACCOUNT_ID
    region: str | None = None


def add_account(state: State, account_id: str) -> str:
    """Define an Alibaba Cloud account by its numeric id (UID); defining one twice is a no-op."""
    account_id = str(account_id)
    if not account_id.isdigit():
        raise ValueError(f"account id {account_id!r} must be the account's numeric id (UID), e.g. 1234567890123456")
    state.accounts.add(account_id)
    return account_id


def known_account(state: State, account_id: str) -> str:
    """``account_id`` if it is defined, else a ValueError that says how to define it."""
    if account_id not in state.accounts:
        raise ValueError(f"account {account_id!r} is not defined: add it first (add_account / 'accounts:')")
    return account_id


def workspace_named(state: State, kind: str, ident: int) -> Workspace | None:
    """The workspace that a ``kind`` (a key of ``RESOURCE_KINDS``) with id ``ident`` belongs to; None if none."""
    if kind == "project":
        return state.workspaces.get(ident)
    owners: dict[str, Mapping[int, Task | Instance | WorkflowInstance]] = {
        "task": state.tasks,
        "instance": state.instances,
        "workflow_instance": state.workflow_instances,
    }
    owner = owners[kind].get(ident)
    return None if owner is None else state.workspaces[owner.workspace_id]


def check_access(state: State, caller: Caller, kind: str, ident: int) -> None:
    """Raise as DataWorks does when ``caller`` may not use the ``kind`` ``ident`` names (unknown ids pass: the
    operation answers its own 404).

    A workspace of another region than the endpoint's does not exist there (404, as each region's endpoint
    knows only its workspaces); one of another account is 403 ``Forbidden.Access``, naming both accounts.
    """
    ws = workspace_named(state, kind, ident)
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


def visible(state: State, caller: Caller) -> list[Workspace]:
    """The workspaces ``caller`` sees (its account's, in its endpoint's region), by id."""
    return [
        ws
        for _, ws in sorted(state.workspaces.items())
        if ws.account_id == caller.account_id and state.served(ws) and caller.region in (None, ws.region)
    ]
