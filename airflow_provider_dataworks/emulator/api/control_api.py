"""The emulator's control API over HTTP, for processes other than the one running it, and ``EmulatorControl``,
its client.

Paths the SDK never uses (it always calls ``/``); JSON in and out; no authentication (loopback test
tool). The server routes every ``/_emulator/`` request here, on every endpoint it serves.

| method and path                         | does                                                     |
|-----------------------------------------|----------------------------------------------------------|
| GET    /_emulator/health                | endpoint, AccessKey id, emulated now                     |
| GET    /_emulator/calls[?action=A]      | the call log                                             |
| DELETE /_emulator/calls                 | clear the call log                                       |
| POST   /_emulator/spec                  | add workspaces and tasks (body: a scenario, see spec.py) |
| GET    /_emulator/instances?task_id=T   | a task's instances with their trigger counters           |
| POST   /_emulator/instances/ID/status   | force a status: {"status": "Failure"}                    |
| GET    /_emulator/workflow-instances/ID | a workflow instance as GetWorkflowInstance renders it    |
| GET    /_emulator/clock                 | {"now": iso, "frozen": bool}                             |
| POST   /_emulator/clock                 | {"set": iso} / {"advance_seconds": n} / {"freeze": bool}  |
| GET/POST/DELETE /_emulator/faults       | list / inject ({"kind": ..., "action": ...}) / clear     |
| GET    /_emulator/sts/issued            | temporary keys STS handed out, secrets included (tests)  |
| POST   /_emulator/reset                 | forget scenario, calls and faults                        |
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from airflow_provider_dataworks.emulator.api.auth import Credential
from airflow_provider_dataworks.emulator.api.call_log import Call
from airflow_provider_dataworks.emulator.api.faults import Fault, FaultPlan
from airflow_provider_dataworks.emulator.api.messages import Answer, Request, json_answer
from airflow_provider_dataworks.emulator.api.render import render_instance, render_workflow_instance
from airflow_provider_dataworks.emulator.api.sts import StsService
from airflow_provider_dataworks.emulator.backend import ApiError, Backend, Instance
from airflow_provider_dataworks.emulator.clock import EmulatorClock, parse_instant

CONTROL_PREFIX = "/_emulator/"
_TIMES = ("StartedTime", "FinishedTime", "WaitingTriggerTime", "WaitingResourceTime")


class ControlledEmulator(Protocol):
    """What the control API drives (``server.DataWorksEmulator`` is one)."""

    backend: Backend
    clock: EmulatorClock
    faults: FaultPlan
    sts: StsService

    @property
    def endpoint(self) -> str: ...

    @property
    def access_key_id(self) -> str: ...

    @property
    def calls(self) -> list[Call]: ...

    def calls_of(self, action: str) -> list[Call]: ...

    def clear_calls(self) -> None: ...

    def credential(self, access_key_id: str) -> Credential | None: ...

    def load_spec(self, spec: Mapping[str, Any]) -> None: ...

    def instances_of(self, task_id: int) -> list[Instance]: ...

    def set_instance_status(self, instance_id: int, status: str) -> Instance: ...

    def inject_fault(self, action: str | None = None, kind: str = "server_error", **kwargs: Any) -> Fault: ...

    def clear_faults(self) -> None: ...

    def reset(self) -> None: ...


def is_control(request: Request) -> bool:
    """Whether ``request`` is for the control API rather than DataWorks'."""
    return urlsplit(request.target).path.startswith(CONTROL_PREFIX)


def control_answer(emu: ControlledEmulator, request: Request) -> Answer:
    """Serve one control request: 200 and the route's JSON, or 400 and what was wrong."""
    url = urlsplit(request.target)
    try:
        data = json.loads(request.body) if request.body else {}
        args = {k: v[-1] for k, v in parse_qs(url.query).items()}
        route = url.path[len(CONTROL_PREFIX) :].strip("/").split("/")
        return json_answer(200, _route(emu, request.method, route, data, args))
    except (ValueError, KeyError, LookupError, ApiError) as err:
        return json_answer(400, {"error": f"{type(err).__name__}: {err}"})


def instance_summary(emu: ControlledEmulator, inst: Instance) -> dict[str, Any]:
    """An instance as the API renders it (with every time field: null when unset, unlike the API), plus the
    emulator's trigger counters."""
    return {
        **dict.fromkeys(_TIMES),
        **render_instance(emu.backend, inst),
        "AcceptedTriggers": inst.accepted_triggers,
        "Releases": inst.releases,
        "DroppedTriggers": inst.dropped_triggers,
        "RepeatedTriggers": inst.repeated_triggers,
        "Frozen": inst.frozen,
    }


def _route(emu: ControlledEmulator, method: str, route: list[str], data: dict[str, Any], args: dict[str, str]) -> Any:
    head = route[0]
    if head == "health":
        now = emu.clock.now().isoformat()
        return {"ok": True, "endpoint": emu.endpoint, "access_key_id": emu.access_key_id, "now": now}
    if head == "calls":
        return _calls(emu, method, args)
    if head == "spec" and method == "POST":
        emu.load_spec(data)
        return {"workspaces": sorted(emu.backend.workspaces)}
    if head == "instances":
        if len(route) == 3 and route[2] == "status" and method == "POST":
            return instance_summary(emu, emu.set_instance_status(int(route[1]), data["status"]))
        return {"instances": [instance_summary(emu, i) for i in emu.instances_of(int(args["task_id"]))]}
    if head == "workflow-instances" and len(route) == 2:
        return render_workflow_instance(emu.backend, emu.backend.workflow_instance(int(route[1])))
    if head == "clock":
        return _clock(emu, method, data)
    if head == "sts" and route[1:] == ["issued"]:
        return {"issued": [_issued_key(emu, key.access_key_id) | {"RoleArn": key.role_arn} for key in emu.sts.issued]}
    if head == "faults":
        return _faults(emu, method, data)
    if head == "reset" and method == "POST":
        emu.reset()
        return {"reset": True}
    raise LookupError(f"no control route {method} /_emulator/{'/'.join(route)}")


def _calls(emu: ControlledEmulator, method: str, args: dict[str, str]) -> dict[str, Any]:
    if method == "DELETE":
        emu.clear_calls()
        return {"cleared": True}
    calls = emu.calls_of(args["action"]) if "action" in args else emu.calls
    return {"calls": [c.to_dict() for c in calls]}


def _clock(emu: ControlledEmulator, method: str, data: dict[str, Any]) -> dict[str, Any]:
    if method == "POST":
        if "set" in data:
            emu.clock.set(parse_instant(data["set"], "set"))
        if "advance_seconds" in data:
            emu.clock.advance(timedelta(seconds=float(data["advance_seconds"])))
        if data.get("freeze") is True:
            emu.clock.freeze()
        elif data.get("freeze") is False:
            emu.clock.unfreeze()
        emu.backend.advance()
    return {"now": emu.clock.now().isoformat(), "frozen": emu.clock.frozen}


def _faults(emu: ControlledEmulator, method: str, data: dict[str, Any]) -> dict[str, Any]:
    if method == "POST":
        return emu.inject_fault(**data).to_dict()
    if method == "DELETE":
        emu.clear_faults()
    return {"faults": [f.to_dict() for f in emu.faults.active()]}


def _issued_key(emu: ControlledEmulator, access_key_id: str) -> dict[str, Any]:
    key = emu.credential(access_key_id)
    assert key is not None, access_key_id
    return {
        "AccessKeyId": key.access_key_id,
        "AccessKeySecret": key.access_key_secret,
        "SecurityToken": key.security_token,
    }


class EmulatorControl:
    """Client of the control API, for tests and scripts in another process."""

    def __init__(self, endpoint: str, timeout: float = 10.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(f"{self.endpoint}/_emulator/{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=self.timeout) as response:
            return json.loads(response.read())

    def health(self) -> dict[str, Any]:
        return self._call("GET", "health")

    def calls(self, action: str | None = None) -> list[dict[str, Any]]:
        return self._call("GET", "calls" + (f"?action={action}" if action else ""))["calls"]

    def clear_calls(self) -> None:
        self._call("DELETE", "calls")

    def load_spec(self, spec: dict[str, Any]) -> None:
        self._call("POST", "spec", spec)

    def instances(self, task_id: int) -> list[dict[str, Any]]:
        return self._call("GET", f"instances?task_id={task_id}")["instances"]

    def workflow_instance(self, workflow_instance_id: int) -> dict[str, Any]:
        return self._call("GET", f"workflow-instances/{workflow_instance_id}")

    def set_instance_status(self, instance_id: int, status: str) -> dict[str, Any]:
        return self._call("POST", f"instances/{instance_id}/status", {"status": status})

    def set_clock(
        self, at: datetime | None = None, *, advance_seconds: float | None = None, freeze: bool | None = None
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        if at is not None:
            payload["set"] = at.isoformat()
        if advance_seconds is not None:
            payload["advance_seconds"] = advance_seconds
        if freeze is not None:
            payload["freeze"] = freeze
        return self._call("POST", "clock", payload)

    def inject_fault(self, **fault: Any) -> dict[str, Any]:
        return self._call("POST", "faults", fault)

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def faults(self) -> list[dict[str, Any]]:
        """The faults still in force (one that fired its ``times`` is gone: a held call has arrived)."""
        return self._call("GET", "faults")["faults"]

    def issued_keys(self) -> list[dict[str, Any]]:
        """The temporary keys the emulated STS handed out: AccessKeyId, AccessKeySecret, SecurityToken, RoleArn."""
        return self._call("GET", "sts/issued")["issued"]

    def reset(self) -> None:
        self._call("POST", "reset", {})
