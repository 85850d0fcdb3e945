"""Scenario files for the emulator (JSON or YAML), how one is applied, and the built-in demo workspace.

Shape::

    accounts:                        # optional: accounts besides the default one (1234567890123456), their keys
      - {id: "1111111111111111", access_keys: [{id: LTAI5tTenantA, secret: "..."}]}
    workspaces:
      - id: 1001
        region: cn-hangzhou          # zone defaults from the region; `timezone:` overrides
        account: "1111111111111111"  # optional: the owner (default: the default account)
        tasks:
          - {id: 700001, name: release, http_trigger: true, cron: "30 0 * * *"}
          - {id: 700002, name: load, upstream: [700001], duration_seconds: 300}
          - id: 700003                 # a weekly node (SkipCycle dry runs on other days), with a calendar,
            name: weekly_report        # a rerun mode and runs besides the scheduled ones
            cron: "0 6 * * 1"
            upstream: [700002]
            rerun_mode: FailureAllowed # AllAllowed (default) | FailureAllowed | AllDenied
            calendar: {skip: ["2026-12-28"], pause: ["2027-01-04"]}   # scheduled dates
            runs:                      # add_instance_run: the scheduled TriggerTime of the day it covers
              - {scheduled_at: "2026-11-23T06:00:00+08:00", type: SupplementData, status: Success}
    clock: {set: "2026-11-24T16:31:00+00:00", freeze: true}   # optional
    roles: ["acs:ram::1234567890123456:role/airflow"]           # optional: what the emulated STS lets
                                     # (or {arn, account}: its keys act for that account, not the assuming key's)
    oidc_providers:                                              #   ram_role_arn / oidc_role_arn assume
      - {arn: "acs:ram::1234567890123456:oidc-provider/ack", token: "<the token file's content>"}
    quota: {daily: 10, qps: 5, reset: "10:15:30 UTC"}           # optional: limits per account and region
                                     # (also read_qps, write_qps, edition: enterprise | basic, retry_after_ms;
                                     # as the CLI's flags; reset: domain/api_limits.py)

``apply_spec`` drives the emulator through ``ScenarioTarget`` (``server.DataWorksEmulator`` is one).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from airflow_provider_dataworks.emulator.api.auth import Credential
from airflow_provider_dataworks.emulator.api.quota import Quota
from airflow_provider_dataworks.emulator.api.sts import OidcProvider
from airflow_provider_dataworks.emulator.backend import Instance, Task, Workspace
from airflow_provider_dataworks.emulator.clock import EmulatorClock, parse_instant

_TASK_KEYS = {
    "id",
    "name",
    "http_trigger",
    "cron",
    "upstream",
    "duration_seconds",
    "outcome",
    "recurrence",
    "env_type",
    "task_type",
    "deployed_at",
    "instance_mode",
    "workflow_id",
    "failing_runs",
    "rerun_mode",
    "calendar",
    "runs",
    "owner",
    "resource_group",
}
_RUN_KEYS = {"scheduled_at", "type", "status"}
_WORKSPACE_KEYS = {"id", "region", "name", "timezone", "resource_capacity", "tasks", "account"}
_ACCOUNT_KEYS, _ACCESS_KEY_KEYS = {"id", "access_keys"}, {"id", "secret"}
#: ``quota:`` keys: the limits ``Quota.configure`` takes, as the CLI's ``--edition``, ``--qps``, ... flags set them.
_QUOTA_KEYS = {"daily", "qps", "read_qps", "write_qps", "edition", "retry_after_ms", "reset"}

DEMO_SPEC: dict[str, Any] = {
    "workspaces": [
        {
            "id": 1001,
            "region": "cn-hangzhou",
            "name": "demo_workspace",
            "tasks": [
                {"id": 700000, "name": "ods_orders_ready", "cron": "0 0 * * *", "duration_seconds": 5},
                {
                    "id": 700001,
                    "name": "release_from_airflow",
                    "http_trigger": True,
                    "cron": "30 0 * * *",
                    "upstream": [700000],
                },
                {"id": 700002, "name": "dwd_orders", "cron": "30 0 * * *", "upstream": [700001], "duration_seconds": 4},
                {
                    "id": 700003,
                    "name": "dwd_customers",
                    "cron": "30 0 * * *",
                    "upstream": [700001],
                    "duration_seconds": 3,
                },
                {
                    "id": 700004,
                    "name": "ads_daily_report",
                    "cron": "30 0 * * *",
                    "upstream": [700002, 700003],
                    "duration_seconds": 3,
                },
            ],
        }
    ]
}


class ScenarioTarget(Protocol):
    """What applying a scenario needs of the emulator (``server.DataWorksEmulator`` is one)."""

    clock: EmulatorClock
    quota: Quota

    def add_account(self, account_id: str) -> str: ...

    def add_access_key(
        self, access_key_id: str | None = None, access_key_secret: str | None = None, account: str = ...
    ) -> Credential: ...

    def add_workspace(self, workspace_id: int, region: str = ..., **kwargs: Any) -> Workspace: ...

    def add_task(self, workspace: Workspace | int, task_id: int, name: str, **kwargs: Any) -> Task: ...

    def add_role(self, role_arn: str = ..., **kwargs: Any) -> str: ...

    def add_oidc_provider(self, arn: str = ..., token: str | None = None) -> OidcProvider: ...

    def add_instance_run(
        self, task_id: int, scheduled_at: datetime | int, workflow_instance_type: str, *, status: str | None = None
    ) -> Instance: ...


def load_spec_file(path: str | Path) -> dict[str, Any]:
    """Read a scenario from a ``.json`` or ``.yaml``/``.yml`` file."""
    text = Path(path).read_text()
    if str(path).endswith((".yaml", ".yml")):
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a scenario is a mapping with a 'workspaces' list")
    return data


def apply_spec(emu: ScenarioTarget, spec: Mapping[str, Any]) -> None:
    """Create the accounts, workspaces and tasks of ``spec`` (and set the clock if it says so)."""
    for account in spec.get("accounts", []):
        _apply_account(emu, account)
    runs: list[tuple[int, Any]] = []  # made once the clock is set: a run starts at the scenario's "now"
    for ws_spec in spec.get("workspaces", []):
        _apply_workspace(emu, ws_spec)
        runs += [(int(task["id"]), run) for task in ws_spec.get("tasks", []) for run in task.get("runs", [])]
    for role in spec.get("roles", []):
        _apply_role(emu, role)
    for provider in spec.get("oidc_providers", []):
        if set(provider) != {"arn", "token"}:
            raise ValueError(f"oidc_providers: each is {{arn, token}}, not {sorted(provider)}")
        emu.add_oidc_provider(str(provider["arn"]), str(provider["token"]))
    if "quota" in spec:
        _apply_quota(emu, spec["quota"])
    clock = spec.get("clock") or {}
    if "set" in clock:
        emu.clock.set(parse_instant(clock["set"], "clock.set"))
    if clock.get("freeze"):
        emu.clock.freeze()
    for task_id, run in runs:
        _apply_run(emu, task_id, run)


def _apply_workspace(emu: ScenarioTarget, ws_spec: Mapping[str, Any]) -> None:
    """``{id, region?, name?, timezone?, resource_capacity?, account?, tasks}``: a workspace and its tasks."""
    unknown = set(ws_spec) - _WORKSPACE_KEYS
    if unknown:
        raise ValueError(f"workspace {ws_spec.get('id')}: unknown keys {sorted(unknown)}")
    ws = emu.add_workspace(
        int(ws_spec["id"]),
        ws_spec.get("region", "cn-hangzhou"),
        name=ws_spec.get("name"),
        timezone=ws_spec.get("timezone"),
        resource_capacity=ws_spec.get("resource_capacity"),
        **({"account": str(ws_spec["account"])} if "account" in ws_spec else {}),
    )
    for task in ws_spec.get("tasks", []):
        unknown = set(task) - _TASK_KEYS
        if unknown:
            raise ValueError(f"task {task.get('id')}: unknown keys {sorted(unknown)}")
        skipped = ("id", "name", "duration_seconds", "deployed_at", "runs")
        kwargs = {k: v for k, v in task.items() if k not in skipped}
        if "duration_seconds" in task:
            kwargs["duration"] = timedelta(seconds=float(task["duration_seconds"]))
        if "deployed_at" in task:
            kwargs["deployed_at"] = parse_instant(task["deployed_at"], "deployed_at")
        emu.add_task(ws, int(task["id"]), task["name"], **kwargs)


def _apply_role(emu: ScenarioTarget, role: str | Mapping[str, Any]) -> None:
    """An ARN, or ``{arn, account}``: a role whose temporary keys act for ``account``."""
    if isinstance(role, Mapping):
        if not {"arn"} <= set(role) <= {"arn", "account"}:
            raise ValueError(f"roles: each is an ARN or {{arn, account}}, not {sorted(role)}")
        emu.add_role(str(role["arn"]), account=role.get("account"))
    else:
        emu.add_role(str(role))


def _apply_run(emu: ScenarioTarget, task_id: int, run: Mapping[str, Any]) -> None:
    """``{scheduled_at, type, status?}``: a backfill / manual run / smoke test ... (``add_instance_run``)."""
    if not isinstance(run, Mapping) or not {"scheduled_at", "type"} <= set(run) <= _RUN_KEYS:
        raise ValueError(f"task {task_id}: each of runs is {{scheduled_at, type, status?}}, not {run!r}")
    at = parse_instant(str(run["scheduled_at"]), "runs.scheduled_at")
    emu.add_instance_run(task_id, at, str(run["type"]), status=run.get("status"))


def _apply_quota(emu: ScenarioTarget, quota: Mapping[str, Any]) -> None:
    """``quota: {daily, qps, read_qps, write_qps, edition, retry_after_ms, reset}``: each unset limit is unlimited
    (or the ``edition``'s); reset: the default, 00:00 Asia/Shanghai."""
    if not isinstance(quota, Mapping) or set(quota) - _QUOTA_KEYS:
        raise ValueError(f"quota: a mapping of {sorted(_QUOTA_KEYS)}, not {quota!r}")

    def number(name: str, kind: type[int] | type[float]) -> Any:
        return kind(quota[name]) if quota.get(name) is not None else None

    edition = quota.get("edition")
    emu.quota.configure(
        daily=number("daily", int),
        qps=number("qps", float),
        read_qps=number("read_qps", float),
        write_qps=number("write_qps", float),
        edition=str(edition) if edition is not None else None,
        retry_after_ms=number("retry_after_ms", int),
        reset=quota.get("reset"),
    )


def _apply_account(emu: ScenarioTarget, account: Mapping[str, Any]) -> None:
    """``{id, access_keys: [{id, secret}]}``: an account and the AccessKeys it signs with."""
    if not isinstance(account, Mapping) or "id" not in account or set(account) - _ACCOUNT_KEYS:
        shape = sorted(account) if isinstance(account, Mapping) else type(account).__name__  # never the secrets
        raise ValueError(f"accounts: each is {{id, access_keys: [{{id, secret}}]}}, not {shape}")
    account_id = emu.add_account(str(account["id"]))
    for key in account.get("access_keys", []):
        if not isinstance(key, Mapping) or set(key) != _ACCESS_KEY_KEYS:
            found = sorted(key) if isinstance(key, Mapping) else type(key).__name__
            raise ValueError(f"account {account_id}: each access key is {{id, secret}}, not {found}")
        emu.add_access_key(str(key["id"]), str(key["secret"]), account=account_id)
