"""What the emulator answers to one HTTP request, apart from how HTTP carries it (``httpd.py`` does that).

A request to ``/`` goes through, in order: action and version, the signature (ACS3-HMAC-SHA256 or RPC
signature v1, with nonce and clock-skew checks, and STS security tokens; see ``auth.py``), quotas (per account
and region: the key's account, the endpoint's region), injected faults, typed parameters, the caller's access
to what they name (``Backend.check_access``), then the operation. Every such request is recorded in the call
log, answered or not. ``/_emulator/`` is the control API; an unsigned RPC request for an STS action is the emulated STS.

:func:`handle` may block (``slow`` and ``hold`` faults): the HTTP layer runs it on a worker thread.
"""

from __future__ import annotations

import json
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from airflow_provider_dataworks.emulator import auth, signature
from airflow_provider_dataworks.emulator.auth import Credential, NonceCache
from airflow_provider_dataworks.emulator.backend import DEFAULT_REGION, ApiError, Caller
from airflow_provider_dataworks.emulator.control import handle_control
from airflow_provider_dataworks.emulator.faults import Fault
from airflow_provider_dataworks.emulator.operations import API_VERSION, OPERATIONS
from airflow_provider_dataworks.emulator.sts import STS_ACTIONS, redacted

if TYPE_CHECKING:
    from airflow_provider_dataworks.emulator.server import DataWorksEmulator

__all__ = ["Answer", "Call", "Credential", "NonceCache", "Request", "handle", "verify_request"]

CONTROL_PREFIX = "/_emulator/"
JSON = "application/json;charset=utf-8"
#: The ACS3 check, under the name it had before signature v1 joined it.
verify_request = auth.verify_acs3


@dataclass(frozen=True)
class Request:
    """One HTTP request as the wire layer needs it: ``target`` is the raw path and query; headers lower-case."""

    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Answer:
    """What to send back; ``drop`` closes the connection without an answer instead."""

    status: int = 200
    body: bytes = b""
    content_type: str = JSON
    headers: Mapping[str, str] = field(default_factory=dict)
    drop: bool = False


DROP = Answer(status=0, drop=True)


def json_answer(status: int, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Answer:
    return Answer(status, json.dumps(payload).encode(), JSON, dict(headers or {}))


@dataclass(frozen=True)
class Call:
    """One OpenAPI request as the emulator saw it. ``params`` are the merged query and form fields."""

    action: str
    params: dict[str, str]
    at: datetime  # the emulated clock's time
    http_status: int
    error_code: str | None
    access_key_id: str | None
    request_id: str
    fault: str | None = None
    account_id: str | None = None  # the signing key's account (None: the key was not known)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "at": self.at.isoformat()}


Record = Callable[[int, str | None, str | None], None]


def handle(emulator: DataWorksEmulator, request: Request, region: str | None = None) -> Answer:
    """Answer one request (blocking while a fault holds or slows it) that came to the endpoint of ``region``
    (None: the main endpoint, which plays the emulator's ``region`` setting, or every region)."""
    url = urlsplit(request.target)
    if url.path.startswith(CONTROL_PREFIX):
        status, payload = handle_control(emulator, request.method, url.path, url.query, request.body)
        return json_answer(status, payload)
    query_pairs = parse_qsl(url.query, keep_blank_values=True)
    if "x-acs-action" not in request.headers and dict(query_pairs).get("Action") in STS_ACTIONS:
        return _handle_sts(emulator, request.method, dict(query_pairs))
    return _handle_api(emulator, request, url.path, query_pairs, region or emulator.backend.settings.region)


def _handle_sts(emulator: DataWorksEmulator, method: str, params: dict[str, str]) -> Answer:
    """An STS request (RPC style: all in the query). Not charged to DataWorks' quota; faults apply."""
    request_id = str(uuid.uuid4()).upper()
    action = params["Action"]
    fault = emulator.faults.pick(action)
    caller = params.get("AccessKeyId")

    def record(status: int, code: str | None, fault_kind: str | None) -> None:
        emulator.record(
            Call(action, redacted(params), emulator.clock.now(), status, code, caller, request_id, fault_kind)
        )

    try:
        if fault is not None and fault.applies_first:
            emulator.sts.handle(method, params, datetime.now(timezone.utc))
            fault.hold()
            return _drop(fault, record)
        if fault is not None and (answer := _apply_fault(fault, record)) is not None:
            return answer
        payload = emulator.sts.handle(method, params, datetime.now(timezone.utc))
    except Exception as unexpected:  # an emulator bug: answer 500 as STS would, and say so on stderr
        if not isinstance(unexpected, ApiError):
            traceback.print_exc()
        err = unexpected if isinstance(unexpected, ApiError) else ApiError(500, "InternalError", repr(unexpected))
        record(err.http_status, err.code, fault.kind if fault else None)
        body = {"RequestId": request_id, "HostId": "sts.aliyuncs.com", "Code": err.code, "Message": err.message}
        return json_answer(err.http_status, body, err.headers)
    record(200, None, fault.kind if fault else None)
    return json_answer(200, {"RequestId": request_id, **payload})


def _form_pairs(request: Request) -> list[tuple[str, str]]:
    if "json" in request.headers.get("content-type", ""):
        return []
    return parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)


def _handle_api(
    emulator: DataWorksEmulator, request: Request, path: str, query_pairs: list[tuple[str, str]], region: str | None
) -> Answer:
    request_id = str(uuid.uuid4()).upper()
    headers = request.headers
    raw = {**dict(_form_pairs(request)), **dict(query_pairs)}
    action = headers.get("x-acs-action") or raw.get("Action", "")
    parsed = signature.parse_authorization(headers.get("authorization"))
    access_key_id = parsed.access_key_id if parsed else raw.get("AccessKeyId")
    logged = redacted(raw)
    account: list[str] = []  # the signing key's account, once known

    def record(status: int, code: str | None, fault: str | None) -> None:
        # Logged before answering, so a client that got its answer always finds its call in the log.
        at = emulator.clock.now()
        caller_account = account[0] if account else None
        emulator.record(Call(action, logged, at, status, code, access_key_id, request_id, fault, caller_account))

    fault = None
    try:
        credential = _authenticate(emulator, request, path, query_pairs, raw, action)
        account.append(credential.account_id)
        caller = Caller(credential.access_key_id, credential.account_id, region)
        operation = OPERATIONS[action]
        fields = {k: v for k, v in raw.items() if k not in auth.RPC_COMMON_PARAMS}
        emulator.quota.charge(
            quota_key(emulator, caller, fields, action), emulator.clock.now(), time.monotonic(), action=action
        )
        fault = emulator.faults.pick(action)
        if fault is not None and fault.applies_first:
            operation.carry_out(emulator.backend, caller, fields)
            fault.hold()
            return _drop(fault, record)
        if fault is not None and (answer := _apply_fault(fault, record)) is not None:
            return answer
        payload = operation.carry_out(emulator.backend, caller, fields)
    except Exception as unexpected:  # an emulator bug: answer as DataWorks would, and say so on stderr
        if not isinstance(unexpected, ApiError):
            traceback.print_exc()
        err = (
            unexpected if isinstance(unexpected, ApiError) else ApiError(500, "InternalError.System", repr(unexpected))
        )
        record(err.http_status, err.code, fault.kind if fault else None)
        body = {"RequestId": request_id, "Code": err.code, "Message": err.message}
        return json_answer(err.http_status, body, err.headers)
    record(200, None, fault.kind if fault else None)
    return json_answer(200, {"RequestId": request_id, **payload})


def quota_key(emulator: DataWorksEmulator, caller: Caller, fields: Mapping[str, str], action: str) -> str:
    """``"<account>/<region>"``: whose quota a call spends. DataWorks counts per account and region, so every key
    of an account (STS keys included) shares it. The region is the endpoint's; on an endpoint that plays every
    region, that of the workspace the call names (else ``DEFAULT_REGION``)."""
    region = caller.region or OPERATIONS[action].named_workspace_region(emulator.backend, fields) or DEFAULT_REGION
    return f"{caller.account_id}/{region}"


def _authenticate(
    emulator: DataWorksEmulator,
    request: Request,
    path: str,
    query_pairs: list[tuple[str, str]],
    raw: Mapping[str, str],
    action: str,
) -> Credential:
    """Action, version and signature, in DataWorks' order; the caller's key, or raise ApiError."""
    kind = auth.signature_kind(request.headers, raw)
    if path != "/" or action not in OPERATIONS:
        known = ", ".join(sorted(OPERATIONS))
        raise ApiError(
            404, "InvalidApi.NotFound", f"Specified api {action or '(none)'} is not found (the emulator has {known})."
        )
    version = request.headers.get("x-acs-version") if kind != "v1" else raw.get("Version")
    if version != API_VERSION:
        raise ApiError(
            400, "InvalidVersion", f"Specified version {version!r} is not valid (the emulator plays {API_VERSION})."
        )
    if kind == "v1":
        return auth.verify_v1(request.method, raw, emulator.credential, emulator.nonces, time.time())
    return auth.verify_acs3(
        request.method, path, query_pairs, request.headers, request.body, emulator.credential, emulator.nonces,
        time.time(),
    )  # fmt: skip


def _apply_fault(fault: Fault, record: Record) -> Answer | None:
    """Act out ``fault``: its answer (or drop), or None when the call goes on (after a ``slow`` delay)."""
    if fault.kind == "slow":
        time.sleep(fault.delay_seconds)
        return None
    if fault.kind in ("drop", "hold"):
        fault.hold()
        return _drop(fault, record)
    if fault.kind == "non_json":
        record(502, "NonJson", "non_json")
        return Answer(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
    raise fault.as_error()


def _drop(fault: Fault, record: Record) -> Answer:
    """Close the connection without an answer."""
    record(0, "ConnectionDropped", fault.kind)
    return DROP
