"""What a newcomer pastes to use a running emulator: the Airflow connection to it, in the URI and JSON forms of
an ``AIRFLOW_CONN_*`` variable, and, per HTTP trigger node, the logical dates whose instance waits for a trigger.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from airflow_provider_dataworks.domain.regions import region_timezone
from airflow_provider_dataworks.domain.timing import in_zone, local_to_epoch_ms, to_epoch_ms
from airflow_provider_dataworks.emulator.backend import Backend, Instance, Task
from airflow_provider_dataworks.emulator.backend.vocab import Status as TaskInstanceStatus
from airflow_provider_dataworks.emulator.server import DataWorksEmulator

CONN_ID = "dataworks_default"
CONN_VARIABLE = "AIRFLOW_CONN_DATAWORKS_DEFAULT"
#: How many waiting instances are listed per node on either side of now (scheduled time passed / to come).
LISTED_EACH_SIDE = 3


def connection_extra(emu: DataWorksEmulator) -> dict[str, Any]:
    """The connection's extras: ``http://`` endpoint (so the SDK does not use HTTPS), and the region, workspace and
    scheduling zone when the scenario has one of each (of the workspaces its AccessKey's account owns)."""
    extra: dict[str, Any] = {"endpoint": emu.endpoint}
    account = emu.credential(emu.access_key_id)
    workspaces = [ws for ws in emu.backend.workspaces.values() if account and ws.account_id == account.account_id]
    regions = {ws.region for ws in workspaces}
    if len(regions) == 1:
        extra["region_id"] = regions.pop()
    if len(workspaces) == 1:
        (ws,) = workspaces
        extra["project_id"] = ws.id
        if ws.timezone != region_timezone(ws.region):
            extra["timezone"] = ws.timezone
    return extra


def connection_uri(login: str, password: str, extra: Mapping[str, Any]) -> str:
    """``dataworks://LOGIN:PASSWORD@/?endpoint=http%3A%2F%2F...``: every part percent-encoded, as Airflow parses it
    (an unencoded ``http://`` in the query is "Invalid connection string")."""
    query = urlencode({k: str(v) for k, v in extra.items()}, quote_via=quote, safe="")
    return f"dataworks://{quote(login, safe='')}:{quote(password, safe='')}@/?{query}"


def connection_info(emu: DataWorksEmulator) -> dict[str, Any]:
    """``dataworks_default`` pointing at ``emu`` with its AccessKey: the variable's name, URI and JSON forms."""
    extra = connection_extra(emu)
    as_json = {"conn_type": "dataworks", "login": emu.access_key_id, "password": emu.access_key_secret, "extra": extra}
    return {
        "conn_id": CONN_ID,
        "variable": CONN_VARIABLE,
        "uri": connection_uri(emu.access_key_id, emu.access_key_secret, extra),
        "json": as_json,
    }


def export_lines(connection: Mapping[str, Any]) -> list[str]:
    """Shell lines setting the connection variable: one ``export`` in URI form, then the same connection in JSON
    form commented out (pasting the whole snippet sets the variable once)."""
    return [
        f"export {connection['variable']}={shlex.quote(connection['uri'])}",
        "# or, the same connection in JSON form:",
        f"# export {connection['variable']}={shlex.quote(json.dumps(connection['json']))}",
    ]


def _unreleased(backend: Backend, task: Task, now: datetime) -> list[Instance]:
    """The scheduled instances of ``task`` a trigger would release, of yesterday, today and tomorrow in its zone."""
    ws = backend.workspaces[task.workspace_id]
    today = in_zone(to_epoch_ms(now), ws.timezone).date()
    waiting = []
    for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
        bizdate = local_to_epoch_ms(datetime.combine(day - timedelta(days=1), time(0)), ws.timezone, "bizdate")
        waiting += [
            inst
            for inst in backend.list_instances(ws.id, bizdate)
            if inst.task_id == task.id
            and inst.status in TaskInstanceStatus.before_trigger()
            and inst.workflow_instance_type == "Normal"
            and inst.recurrence == "Normal"
        ]
    return waiting


def http_trigger_tasks(spec: Mapping[str, Any], now: datetime) -> list[dict[str, Any]]:
    """Each HTTP trigger node of ``spec`` with the logical dates, at ``now``, whose instance has not been released
    (NotRun, WaitTime, WaitTrigger): up to three whose scheduled time has passed (a trigger releases them at
    once) and three to come (a trigger is kept until then).

    A run of a DAG on the node's cron and zone, like the example DAGs, names the instance scheduled at its logical
    date. Worked out on a scratch emulator of the nodes and their upstreams with its clock frozen at ``now``,
    so the serving emulator's state (instance ids, generated days) stays as its clients make it.
    """
    scratch = DataWorksEmulator()
    scratch.load_spec(_with_http_trigger_tasks_only(spec))
    scratch.clock.freeze(now)
    tasks = sorted(scratch.backend.tasks.values(), key=lambda t: t.id)
    return [_waiting_dates(scratch.backend, task, now) for task in tasks if task.http_trigger]


def _waiting_dates(backend: Backend, task: Task, now: datetime) -> dict[str, Any]:
    """An HTTP trigger node and the logical dates of its unreleased instances around ``now``."""
    ws = backend.workspaces[task.workspace_id]
    waiting = sorted(_unreleased(backend, task, now), key=lambda inst: inst.trigger_time)
    passed = [inst for inst in waiting if inst.trigger_time <= now][-LISTED_EACH_SIDE:]
    to_come = [inst for inst in waiting if inst.trigger_time > now][:LISTED_EACH_SIDE]
    return {
        "task_id": task.id,
        "name": task.name,
        "workspace_id": ws.id,
        "cron": task.schedule.expression,
        "timezone": ws.timezone,
        "waiting": [
            {
                "logical_date": in_zone(to_epoch_ms(inst.trigger_time), ws.timezone).isoformat(),
                "trigger_time_ms": to_epoch_ms(inst.trigger_time),
                "status": inst.status.value,
            }
            for inst in passed + to_come
        ],
    }


def _with_http_trigger_tasks_only(spec: Mapping[str, Any]) -> dict[str, Any]:
    """``spec``'s workspaces with only the HTTP trigger nodes and their upstreams (their statuses depend on no
    other task), so a large scenario costs little; the accounts without their keys; roles and clock left out."""
    workspaces = []
    for ws_spec in spec.get("workspaces", []):
        tasks = {int(t["id"]): t for t in ws_spec.get("tasks", [])}
        keep = {task_id for task_id, t in tasks.items() if t.get("http_trigger")}
        todo = list(keep)
        while todo:
            for up in tasks[todo.pop()].get("upstream", []):
                if int(up) in tasks and int(up) not in keep:
                    keep.add(int(up))
                    todo.append(int(up))
        if keep:
            workspaces.append({**ws_spec, "tasks": [t for task_id, t in tasks.items() if task_id in keep]})
    return {"accounts": [{"id": a["id"]} for a in spec.get("accounts", [])], "workspaces": workspaces}


def describe(info: Mapping[str, Any]) -> list[str]:
    """The lines the CLI prints after its JSON line: a shell snippet (comments and ``export`` lines)."""
    lines = [
        f"# dataworks-emulator serves {info['endpoint']} (Ctrl-C stops it). In the shell that runs Airflow, paste",
        f"# {CONN_ID} pointing at it (URI form, endpoint percent-encoded):",
        *export_lines(info["connection"]),
    ]
    tasks = info["http_trigger_tasks"]
    if tasks:
        lines.append("# HTTP trigger nodes (dataworks_task_id) and logical dates whose instance waits for a trigger:")
    for task in tasks:
        where = f"workspace {task['workspace_id']}, cron '{task['cron']}' in {task['timezone']}"
        lines.append(f"#   {task['task_id']} {task['name']} ({where}):")
        lines += [f"#     {w['logical_date']}  {w['status']}" for w in task["waiting"]] or ["#     none now"]
        if any(w["status"] == "WaitTrigger" for w in task["waiting"]):
            lines.append("#     and every earlier day's, back to the node's deployment: each waits until triggered")
    dates = [w["logical_date"] for task in tasks for w in task["waiting"] if w["status"] == "WaitTrigger"]
    if dates:
        command = f"airflow dags test <dag_id> {dates[-1]}"
        lines.append(f"# A DAG on the node's cron and zone (as the example DAGs) releases one: {command}")
    return lines
