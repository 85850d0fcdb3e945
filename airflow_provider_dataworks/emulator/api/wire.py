"""What the emulator answers to one OpenAPI or STS request, apart from how HTTP carries it (``httpd.py`` does that).

A request to ``/`` goes through, in order: action and version, the signature (ACS3-HMAC-SHA256 or RPC
signature v1, with nonce and clock-skew checks, and STS security tokens; see ``auth.py``), quotas (per account
and region: the key's account, the endpoint's region; ``quota.py``), injected faults (``faults.py``), typed
parameters, the caller's access to what they name (``Backend.check_access``), then the operation
(``handlers.py``). Every such request is recorded in the call log, answered or not. An unsigned RPC request for an
STS action is the emulated STS (``sts.py``). The control API (``/_emulator/``) is not answered here: the server
routes it to ``control_api.py``.

:func:`handle` may block (``slow`` and ``hold`` faults): the HTTP layer runs it on a worker thread.
"""

from __future__ import annotations

import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from airflow_provider_dataworks.emulator.api import auth, signature
from airflow_provider_dataworks.emulator.api.auth import Credential, NonceCache
from airflow_provider_dataworks.emulator.api.call_log import Call
from airflow_provider_dataworks.emulator.api.faults import Fault, FaultPlan
from airflow_provider_dataworks.emulator.api.handlers import API_VERSION, OPERATIONS
from airflow_provider_dataworks.emulator.api.messages import DROP, Answer, Request, json_answer
from airflow_provider_dataworks.emulator.api.quota import Quota
from airflow_provider_dataworks.emulator.api.sts import STS_ACTIONS, StsService, redacted
from airflow_provider_dataworks.emulator.backend import DEFAULT_REGION, ApiError, Backend, Caller
from airflow_provider_dataworks.emulator.clock import EmulatorClock

#: Records a call: (HTTP status, error code, the fault that acted), the rest known where it is made.
Record = Callable[[int, str | None, str | None], None]


class ServedEmulator(Protocol):
    """What answering a request needs of the emulator (``server.DataWorksEmulator`` is one)."""

    backend: Backend
    clock: EmulatorClock
    faults: FaultPlan
    quota: Quota
    nonces: NonceCache
    sts: StsService

    def credential(self, access_key_id: str) -> Credential | None: ...

    def record(self, call: Call) -> None: ...


def handle(emulator: ServedEmulator, request: Request, region: str | None = None) -> Answer:
    """Answer one request (blocking while a fault holds or slows it) that came to the endpoint of ``region``
    (None: the main endpoint, which plays the emulator's ``region`` setting, or every region)."""
    url = urlsplit(request.target)
    query_pairs = parse_qsl(url.query, keep_blank_values=True)
    if "x-acs-action" not in request.headers and dict(query_pairs).get("Action") in STS_ACTIONS:
        return _handle_sts(emulator, request.method, dict(query_pairs))
    return _handle_api(emulator, request, url.path, query_pairs, region or emulator.backend.settings.region)


def _handle_sts(emulator: ServedEmulator, method: str, params: dict[str, str]) -> Answer:
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
        outcome = _under_fault(fault, lambda: emulator.sts.handle(method, params, datetime.now(timezone.utc)), record)
    except Exception as unexpected:  # an emulator bug: answer 500 as STS would, and say so on stderr
        err = _as_api_error(unexpected, "InternalError")
        record(err.http_status, err.code, fault.kind if fault else None)
        body = {"RequestId": request_id, "HostId": "sts.aliyuncs.com", "Code": err.code, "Message": err.message}
        return json_answer(err.http_status, body, err.headers)
    return _success(outcome, request_id, fault, record)


def _handle_api(
    emulator: ServedEmulator, request: Request, path: str, query_pairs: list[tuple[str, str]], region: str | None
) -> Answer:
    """A DataWorks OpenAPI request: authenticated, charged, faulted, then carried out by its operation."""
    request_id = str(uuid.uuid4()).upper()
    raw = {**dict(_form_pairs(request)), **dict(query_pairs)}
    action = request.headers.get("x-acs-action") or raw.get("Action", "")
    parsed = signature.parse_authorization(request.headers.get("authorization"))
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
        fields = {k: v for k, v in raw.items() if k not in auth.RPC_COMMON_PARAMS}
        key = quota_key(emulator.backend, caller, fields, action)
        emulator.quota.charge(key, emulator.clock.now(), time.monotonic(), action=action)
        fault = emulator.faults.pick(action)
        outcome = _under_fault(fault, lambda: OPERATIONS[action].carry_out(emulator.backend, caller, fields), record)
    except Exception as unexpected:  # an emulator bug: answer as DataWorks would, and say so on stderr
        err = _as_api_error(unexpected, "InternalError.System")
        record(err.http_status, err.code, fault.kind if fault else None)
        body = {"RequestId": request_id, "Code": err.code, "Message": err.message}
        return json_answer(err.http_status, body, err.headers)
    return _success(outcome, request_id, fault, record)


def _form_pairs(request: Request) -> list[tuple[str, str]]:
    if "json" in request.headers.get("content-type", ""):
        return []
    return parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)


def quota_key(backend: Backend, caller: Caller, fields: Mapping[str, str], action: str) -> str:
    """``"<account>/<region>"``: whose quota a call spends. DataWorks counts per account and region, so every key
    of an account (STS keys included) shares it. The region is the endpoint's; on an endpoint that plays every
    region, that of the workspace the call names (else ``DEFAULT_REGION``)."""
    region = caller.region or OPERATIONS[action].named_workspace_region(backend, fields) or DEFAULT_REGION
    return f"{caller.account_id}/{region}"


def _authenticate(
    emulator: ServedEmulator,
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
    now = time.time()
    if kind == "v1":
        return auth.verify_v1(request.method, raw, emulator.credential, emulator.nonces, now)
    signed = (request.method, path, query_pairs, request.headers, request.body)
    return auth.verify_acs3(*signed, emulator.credential, emulator.nonces, now)


def _under_fault(
    fault: Fault | None, carry_out: Callable[[], dict[str, Any]], record: Record
) -> dict[str, Any] | Answer:
    """Carry the call out under ``fault``: its payload, or the answer (or drop) the fault gives instead. A fault
    that applies first lets the call take effect, then leaves the client without an answer."""
    if fault is not None and fault.applies_first:
        carry_out()
        fault.hold()
        return _drop(fault, record)
    if fault is not None and (answer := _apply_fault(fault, record)) is not None:
        return answer
    return carry_out()


def _success(outcome: dict[str, Any] | Answer, request_id: str, fault: Fault | None, record: Record) -> Answer:
    """The answer of a call carried out: the payload with its RequestId, or what the fault answered."""
    if isinstance(outcome, Answer):
        return outcome
    record(200, None, fault.kind if fault else None)
    return json_answer(200, {"RequestId": request_id, **outcome})


def _as_api_error(unexpected: Exception, internal_code: str) -> ApiError:
    """``unexpected`` as the error answer: an ApiError as it is, anything else (an emulator bug, printed on
    stderr) a 500 ``internal_code``."""
    if isinstance(unexpected, ApiError):
        return unexpected
    traceback.print_exc()
    return ApiError(500, internal_code, repr(unexpected))


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
