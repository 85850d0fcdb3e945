"""The emulator's HTTP face: the OpenAPI on ``/`` and the control API on ``/_emulator/``.

A request to ``/`` goes through, in order: action and version headers, ACS3-HMAC-SHA256 signature
(with nonce and clock-skew checks, and STS security tokens), quotas, injected faults, typed parameters,
then the operation. Every such request is recorded in the call log, answered or not.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from airflow_provider_dataworks.emulator import signature
from airflow_provider_dataworks.emulator.backend import ApiError
from airflow_provider_dataworks.emulator.control import handle_control
from airflow_provider_dataworks.emulator.faults import Fault
from airflow_provider_dataworks.emulator.operations import API_VERSION, OPERATIONS, parse_params
from airflow_provider_dataworks.emulator.sts import STS_ACTIONS, redacted

if TYPE_CHECKING:
    from airflow_provider_dataworks.emulator.server import DataWorksEmulator

MAX_CLOCK_SKEW_SECONDS = 15 * 60
CONTROL_PREFIX = "/_emulator/"


@dataclass(frozen=True)
class Credential:
    """An AccessKey the emulator accepts; ``security_token`` set makes it an STS key."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)


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

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "at": self.at.isoformat()}


class NonceCache:
    """Signature nonces seen in the last 15 minutes (wall time)."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def use(self, nonce: str, now: float) -> bool:
        """Record ``nonce``; False if it was used already."""
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {n: t for n, t in self._seen.items() if t > now - MAX_CLOCK_SKEW_SECONDS}
            if nonce in self._seen:
                return False
            self._seen[nonce] = now
            return True


def verify_request(
    method: str,
    path: str,
    query_pairs: list[tuple[str, str]],
    headers: dict[str, str],
    body: bytes,
    credentials: Callable[[str], Credential | None],
    nonces: NonceCache,
    wall_now: float,
) -> Credential:
    """Check the ACS3-HMAC-SHA256 signature of a request; raise ApiError as DataWorks would."""
    auth = signature.parse_authorization(headers.get("authorization"))
    if auth is None:
        raise ApiError(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
    required = {"host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"}
    missing = sorted(required - set(auth.signed_headers))
    if missing:
        raise ApiError(400, "IncompleteSignature", f"SignedHeaders must include {', '.join(missing)}.")
    credential = credentials(auth.access_key_id)
    if credential is None:
        raise ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    date_text = headers.get("x-acs-date", "")
    try:
        sent = datetime.strptime(date_text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    except ValueError as err:
        raise ApiError(
            400, "InvalidTimeStamp.Format", f"x-acs-date {date_text!r} is not yyyy-MM-ddTHH:mm:ssZ."
        ) from err
    if abs(wall_now - sent) > MAX_CLOCK_SKEW_SECONDS:
        raise ApiError(400, "InvalidTimeStamp.Expired", f"Specified time stamp or date value is expired: {date_text}.")
    body_hash = hashlib.sha256(body).hexdigest()
    if headers.get("x-acs-content-sha256", "") != body_hash:
        raise ApiError(400, "SignatureDoesNotMatch", "x-acs-content-sha256 does not match the request body.")
    if credential.security_token is not None:
        if "x-acs-security-token" not in auth.signed_headers or "x-acs-security-token" not in headers:
            raise ApiError(
                400, "InvalidSecurityToken.Malformed", "An STS AccessKey needs a signed x-acs-security-token."
            )
        if headers["x-acs-security-token"] != credential.security_token:
            raise ApiError(
                400, "InvalidSecurityToken.MismatchWithAccessKey", "The security token does not match the AccessKey."
            )
    to_sign = signature.string_to_sign(method, path, query_pairs, headers, auth.signed_headers, body_hash)
    expected = signature.sign(credential.access_key_secret, to_sign)
    if not signature.signatures_match(expected, auth.signature):
        raise ApiError(
            400,
            "SignatureDoesNotMatch",
            f"Specified signature does not match our calculation. Server string to sign is: {to_sign!r}",
        )
    if not nonces.use(headers.get("x-acs-signature-nonce", ""), wall_now):
        raise ApiError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
    return credential


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and the client's
    # delayed ACK hold each keep-alive response back ~40 ms.
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request stderr lines (they would carry nothing the call log lacks)."""

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        try:
            self._dispatch()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its read timeout): nothing to answer

    def _dispatch(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        emulator = self.server.emulator
        if url.path.startswith(CONTROL_PREFIX):
            status, payload = handle_control(emulator, self.command, url.path, url.query, body)
            self._send_json(status, payload)
            return
        if not self.headers.get("x-acs-action") and dict(parse_qsl(url.query)).get("Action") in STS_ACTIONS:
            self._handle_sts(emulator, url.query)
            return
        self._handle_api(emulator, url.path, url.query, body)

    def _handle_sts(self, emulator: DataWorksEmulator, query: str) -> None:
        """An STS request (RPC style: all in the query). Not charged to DataWorks' quota; faults apply."""
        request_id = str(uuid.uuid4()).upper()
        params = dict(parse_qsl(query, keep_blank_values=True))
        action = params["Action"]
        fault = emulator.faults.pick(action)
        caller = params.get("AccessKeyId")

        def record(status: int, code: str | None, fault_kind: str | None) -> None:
            emulator.record(
                Call(action, redacted(params), emulator.clock.now(), status, code, caller, request_id, fault_kind)
            )

        try:
            if fault is not None and fault.applies_first:
                emulator.sts.handle(self.command, params, datetime.now(timezone.utc))
                fault.hold()
                self._drop(fault, record)
                return
            if fault is not None and self._apply_fault(fault, record):
                return
            payload = emulator.sts.handle(self.command, params, datetime.now(timezone.utc))
        except Exception as unexpected:  # an emulator bug: answer 500 as STS would, and say so on stderr
            if not isinstance(unexpected, ApiError):
                traceback.print_exc()
            err = unexpected if isinstance(unexpected, ApiError) else ApiError(500, "InternalError", repr(unexpected))
            record(err.http_status, err.code, fault.kind if fault else None)
            body = {"RequestId": request_id, "HostId": "sts.aliyuncs.com", "Code": err.code, "Message": err.message}
            self._send_json(err.http_status, body, err.headers)
            return
        record(200, None, fault.kind if fault else None)
        self._send_json(200, {"RequestId": request_id, **payload})

    def _handle_api(self, emulator: DataWorksEmulator, path: str, query: str, body: bytes) -> None:
        request_id = str(uuid.uuid4()).upper()
        headers = {k.lower(): v for k, v in self.headers.items()}
        query_pairs = parse_qsl(query, keep_blank_values=True)
        form_pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        raw = {**dict(form_pairs), **dict(query_pairs)}
        action = headers.get("x-acs-action", "")
        auth = signature.parse_authorization(headers.get("authorization"))
        access_key_id = auth.access_key_id if auth else None

        def record(status: int, code: str | None, fault: str | None) -> None:
            # Logged before answering, so a client that got its answer always finds its call in the log.
            emulator.record(Call(action, raw, emulator.clock.now(), status, code, access_key_id, request_id, fault))

        fault = None
        try:
            if path != "/" or action not in OPERATIONS:
                raise ApiError(404, "InvalidApi.NotFound", f"Specified api {action or '(none)'} is not found.")
            if headers.get("x-acs-version") != API_VERSION:
                raise ApiError(
                    400, "InvalidVersion", f"Specified version {headers.get('x-acs-version')!r} is not valid."
                )
            credential = verify_request(
                self.command, path, query_pairs, headers, body, emulator.credential, emulator.nonces, time.time()
            )
            emulator.quota.charge(credential.access_key_id, emulator.clock.now(), time.monotonic())
            fault = emulator.faults.pick(action)
            operation = OPERATIONS[action]
            if fault is not None and fault.applies_first:
                operation.handler(emulator.backend, parse_params(operation.params, raw))
                fault.hold()
                self._drop(fault, record)
                return
            if fault is not None and self._apply_fault(fault, record):
                return
            payload = operation.handler(emulator.backend, parse_params(operation.params, raw))
        except Exception as unexpected:  # an emulator bug: answer as DataWorks would, and say so on stderr
            if not isinstance(unexpected, ApiError):
                traceback.print_exc()
            err = (
                unexpected
                if isinstance(unexpected, ApiError)
                else ApiError(500, "InternalError.System", repr(unexpected))
            )
            record(err.http_status, err.code, fault.kind if fault else None)
            self._send_json(
                err.http_status, {"RequestId": request_id, "Code": err.code, "Message": err.message}, err.headers
            )
            return
        record(200, None, fault.kind if fault else None)
        self._send_json(200, {"RequestId": request_id, **payload})

    def _apply_fault(self, fault: Fault, record: Callable[[int, str | None, str | None], None]) -> bool:
        """Act out ``fault``; True when the answer (or its absence) is complete."""
        if fault.kind == "slow":
            time.sleep(fault.delay_seconds)
            return False
        if fault.kind in ("drop", "hold"):
            fault.hold()
            self._drop(fault, record)
            return True
        if fault.kind == "non_json":
            record(502, "NonJson", "non_json")
            self._send(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
            return True
        raise fault.as_error()

    def _drop(self, fault: Fault, record: Callable[[int, str | None, str | None], None]) -> None:
        """Close the connection without an answer."""
        record(0, "ConnectionDropped", fault.kind)
        self.close_connection = True
        self.connection.close()

    def _send_json(self, status: int, payload: dict[str, Any], extra_headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json;charset=utf-8", extra_headers)

    def _send(self, status: int, data: bytes, content_type: str, extra_headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: DataWorksEmulator) -> None:
        super().__init__(address, _Handler)
        self.emulator = emulator
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        """Cut every kept-alive connection, as a process that goes away does."""
        with self._open_lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
