"""Scenario files for the emulator (JSON or YAML) and the built-in demo workspace.

Shape::

    workspaces:
      - id: 1001
        region: cn-hangzhou          # zone defaults from the region; `timezone:` overrides
        tasks:
          - {id: 700001, name: release, http_trigger: true, cron: "30 0 * * *"}
          - {id: 700002, name: load, upstream: [700001], duration_seconds: 300}
    clock: {set: "2026-11-24T16:31:00+00:00", freeze: true}   # optional
    roles: ["acs:ram::1234567890123456:role/airflow"]           # optional: what the emulated STS lets
    oidc_providers:                                              #   ram_role_arn / oidc_role_arn assume
      - {arn: "acs:ram::1234567890123456:oidc-provider/ack", token: "<the token file's content>"}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_dataworks.emulator.server import DataWorksEmulator

_TASK_KEYS = {
    "id", "name", "http_trigger", "cron", "upstream", "duration_seconds", "outcome", "recurrence",
    "env_type", "task_type", "deployed_at", "instance_mode", "workflow_id",
}  # fmt: skip
_WORKSPACE_KEYS = {"id", "region", "name", "timezone", "resource_capacity", "tasks"}

DEMO_SPEC: dict[str, Any] = {
    "workspaces": [
        {
            "id": 1001,
            "region": "cn-hangzhou",
            "name": "demo_workspace",
            "tasks": [
                {"id": 700000, "name": "ods_orders_ready", "cron": "0 0 * * *", "duration_seconds": 5},
                {"id": 700001, "name": "release_from_airflow", "http_trigger": True, "cron": "30 0 * * *",
                 "upstream": [700000]},
                {"id": 700002, "name": "dwd_orders", "cron": "30 0 * * *", "upstream": [700001], "duration_seconds": 4},
                {"id": 700003, "name": "dwd_customers", "cron": "30 0 * * *", "upstream": [700001],
                 "duration_seconds": 3},
                {"id": 700004, "name": "ads_daily_report", "cron": "30 0 * * *", "upstream": [700002, 700003],
                 "duration_seconds": 3},
            ],
        }
    ]
}  # fmt: skip


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


def _aware(value: str, field: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"{field}={value!r} needs a UTC offset, e.g. 2026-11-24T16:31:00+00:00")
    return moment


def apply_spec(emu: DataWorksEmulator, spec: Mapping[str, Any]) -> None:
    """Create the workspaces and tasks of ``spec`` (and set the clock if it says so)."""
    for ws_spec in spec.get("workspaces", []):
        unknown = set(ws_spec) - _WORKSPACE_KEYS
        if unknown:
            raise ValueError(f"workspace {ws_spec.get('id')}: unknown keys {sorted(unknown)}")
        ws = emu.add_workspace(
            int(ws_spec["id"]),
            ws_spec.get("region", "cn-hangzhou"),
            name=ws_spec.get("name"),
            timezone=ws_spec.get("timezone"),
            resource_capacity=ws_spec.get("resource_capacity"),
        )
        for task in ws_spec.get("tasks", []):
            unknown = set(task) - _TASK_KEYS
            if unknown:
                raise ValueError(f"task {task.get('id')}: unknown keys {sorted(unknown)}")
            kwargs = {k: v for k, v in task.items() if k not in ("id", "name", "duration_seconds", "deployed_at")}
            if "duration_seconds" in task:
                kwargs["duration"] = timedelta(seconds=float(task["duration_seconds"]))
            if "deployed_at" in task:
                kwargs["deployed_at"] = _aware(task["deployed_at"], "deployed_at")
            emu.add_task(ws, int(task["id"]), task["name"], **kwargs)
    for role_arn in spec.get("roles", []):
        emu.add_role(str(role_arn))
    for provider in spec.get("oidc_providers", []):
        if set(provider) != {"arn", "token"}:
            raise ValueError(f"oidc_providers: each is {{arn, token}}, not {sorted(provider)}")
        emu.add_oidc_provider(str(provider["arn"]), str(provider["token"]))
    clock = spec.get("clock") or {}
    if "set" in clock:
        emu.clock.set(_aware(clock["set"], "clock.set"))
    if clock.get("freeze"):
        emu.clock.freeze()
