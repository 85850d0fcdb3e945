"""The emulator's HTTP/1.1, spoken raw over a socket (no SDK): chunked bodies, pipelining, split writes,
``Expect: 100-continue``, malformed requests; and the seed's flow through a client that sends chunked bodies.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest

from airflow_provider_dataworks.emulator import DataWorksEmulator
from airflow_provider_dataworks.emulator.api import signature as sig
from tests.conftest import RELEASE, SHANGHAI_0030, WORKSPACE, ms

BIZDATE = ms(datetime(2026, 11, 24, tzinfo=timezone(timedelta(hours=8))))


def signed_headers(
    emu: DataWorksEmulator, method: str, action: str, query: list[tuple[str, str]], body: bytes
) -> dict[str, str]:
    """ACS3-HMAC-SHA256 headers for one request (what every Alibaba Cloud OpenAPI client computes)."""
    headers = {
        "host": emu.host_port,
        "x-acs-action": action,
        "x-acs-version": "2024-05-18",
        "x-acs-date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": uuid.uuid4().hex,
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
        "content-type": "application/x-www-form-urlencoded",
    }
    names = sorted(headers)
    to_sign = sig.string_to_sign(method, "/", query, headers, names, headers["x-acs-content-sha256"])
    signature = sig.sign(emu.access_key_secret, to_sign)
    headers["authorization"] = (
        f"{sig.ALGORITHM} Credential={emu.access_key_id},SignedHeaders={';'.join(names)},Signature={signature}"
    )
    return headers


def head(method: str, target: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode()


def chunked(*parts: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def list_instances_request(emu: DataWorksEmulator, *, chunks: int = 0) -> tuple[bytes, bytes]:
    """(head, body) of a signed ListTaskInstances; ``chunks`` > 0 sends the body in that many chunks."""
    body = urlencode({"ProjectId": WORKSPACE, "Bizdate": BIZDATE, "TaskId": RELEASE}).encode()
    headers = signed_headers(emu, "POST", "ListTaskInstances", [], body)
    if chunks:
        size = -(-len(body) // chunks)
        headers["transfer-encoding"] = "chunked"
        return head("POST", "/", headers), chunked(*(body[i : i + size] for i in range(0, len(body), size)))
    headers["content-length"] = str(len(body))
    return head("POST", "/", headers), body


def get_task_request(emu: DataWorksEmulator) -> bytes:
    return head("GET", f"/?Id={RELEASE}", signed_headers(emu, "GET", "GetTask", [("Id", str(RELEASE))], b""))


class Conn:
    """One client TCP connection with a response reader (Content-Length framed, as the emulator answers)."""

    def __init__(self, emu: DataWorksEmulator) -> None:
        self.sock = socket.create_connection(("127.0.0.1", emu.port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each send is its own TCP segment
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            return False
        self.buffer += data
        return bool(data)

    def read_line_block(self) -> bytes | None:
        """Status line and headers, or None when the server closed the connection first."""
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                return None
        block, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        return block

    def response(self) -> tuple[int, dict[str, str], bytes] | None:
        block = self.read_line_block()
        if block is None:
            return None
        status_line, *header_lines = block.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines)}
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            if not self._fill():
                raise AssertionError("connection closed inside an answer")
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(status_line.split()[1]), headers, body

    def json(self) -> tuple[int, dict]:
        answer = self.response()
        assert answer is not None, "connection closed without an answer"
        return answer[0], json.loads(answer[2])

    def closed(self) -> bool:
        """True when the server has closed the connection (nothing more to read)."""
        return not self.buffer and not self._fill()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def conn(emulator: DataWorksEmulator) -> Iterator[Conn]:
    c = Conn(emulator)
    yield c
    c.close()


def the_instance(answer: tuple[int, dict]) -> dict:
    status, body = answer
    assert status == 200, body
    (inst,) = body["PagingInfo"]["TaskInstances"]
    return inst


def test_chunked_body_then_the_next_request_on_the_same_connection(emulator: DataWorksEmulator, conn: Conn) -> None:
    request_head, body = list_instances_request(emulator, chunks=3)
    conn.send(request_head)
    for piece in body.split(b"\r\n")[:-1]:  # chunk sizes and data in separate writes
        conn.send(piece + b"\r\n")
    inst = the_instance(conn.json())
    assert (inst["TaskId"], inst["Status"]) == (RELEASE, "WaitTrigger")
    conn.send(get_task_request(emulator))  # the chunk bytes must not linger as a request of their own
    status, answer = conn.json()
    assert (status, answer["Task"]["Id"]) == (200, RELEASE)
    assert [c.http_status for c in emulator.calls] == [200, 200]


def test_two_requests_pipelined_are_answered_in_order(emulator: DataWorksEmulator, conn: Conn) -> None:
    list_head, list_body = list_instances_request(emulator)
    conn.send(get_task_request(emulator) + list_head + list_body)  # one write, two requests
    first, second = conn.json(), conn.json()
    assert first[0] == 200 and first[1]["Task"]["Id"] == RELEASE
    assert the_instance(second)["TaskId"] == RELEASE
    assert [c.action for c in emulator.calls] == ["GetTask", "ListTaskInstances"]


def test_body_split_across_writes(emulator: DataWorksEmulator, conn: Conn) -> None:
    request_head, body = list_instances_request(emulator)
    conn.send(request_head[:10])
    conn.send(request_head[10:])
    for i in range(0, len(body), 7):
        conn.send(body[i : i + 7])
    assert the_instance(conn.json())["Status"] == "WaitTrigger"


def test_expect_100_continue(emulator: DataWorksEmulator, conn: Conn) -> None:
    body = urlencode({"ProjectId": WORKSPACE, "Bizdate": BIZDATE, "TaskId": RELEASE}).encode()
    headers = signed_headers(emulator, "POST", "ListTaskInstances", [], body)
    headers |= {"content-length": str(len(body)), "expect": "100-continue"}
    conn.send(head("POST", "/", headers))
    interim = conn.read_line_block()
    assert interim is not None and interim.startswith(b"HTTP/1.1 100")
    conn.send(body)
    assert the_instance(conn.json())["Status"] == "WaitTrigger"


@pytest.mark.parametrize(
    "garbage",
    [
        b"NOT AN HTTP REQUEST\r\n\r\n",
        b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",  # bad chunk size
        b"GET / HTTP/1.1\r\ncontent-length: nope\r\n\r\n",
    ],
    ids=["request-line", "chunk-size", "content-length"],
)
def test_malformed_request_gets_a_clear_400_and_never_a_corrupted_next_answer(
    emulator: DataWorksEmulator, conn: Conn, garbage: bytes
) -> None:
    conn.send(garbage)
    answer = conn.response()
    assert answer is not None and answer[0] == 400, answer
    try:
        conn.send(get_task_request(emulator))
        after = conn.response()
    except (BrokenPipeError, ConnectionResetError):
        after = None  # closed cleanly after the 400: acceptable
    assert after is None or (after[0] == 200 and json.loads(after[2])["Task"]["Id"] == RELEASE)
    assert emulator.calls_of("GetTask") == [] or after is not None
    fresh = Conn(emulator)  # the server itself is fine
    try:
        fresh.send(get_task_request(emulator))
        assert fresh.json()[0] == 200
    finally:
        fresh.close()


def test_control_api_takes_a_chunked_body(emulator: DataWorksEmulator, conn: Conn) -> None:
    payload = json.dumps({"advance_seconds": 60}).encode()
    headers = {"host": emulator.host_port, "content-type": "application/json", "transfer-encoding": "chunked"}
    conn.send(head("POST", "/_emulator/clock", headers) + chunked(payload[:5], payload[5:]))
    status, body = conn.json()
    assert status == 200 and body["now"] == (SHANGHAI_0030 + timedelta(minutes=2)).isoformat()
    conn.send(head("GET", "/_emulator/health", {"host": emulator.host_port}))
    assert conn.json()[1]["ok"] is True


def test_dropped_call_closes_only_its_connection(emulator: DataWorksEmulator, conn: Conn) -> None:
    emulator.inject_fault("GetTask", kind="drop")
    conn.send(get_task_request(emulator))
    assert conn.response() is None
    again = Conn(emulator)
    try:
        again.send(get_task_request(emulator))
        assert again.json()[0] == 200
    finally:
        again.close()


def test_restart_cuts_idle_and_held_connections_then_serves_on_the_same_port(
    emulator: DataWorksEmulator, conn: Conn
) -> None:
    conn.send(get_task_request(emulator))
    assert conn.json()[0] == 200  # conn now idles, kept alive
    held = emulator.inject_fault("GetProject", kind="hold")
    waiting = Conn(emulator)
    query = [("Id", str(WORKSPACE))]
    waiting.send(head("GET", f"/?Id={WORKSPACE}", signed_headers(emulator, "GET", "GetProject", query, b"")))
    assert held.arrived.wait(30)
    port = emulator.port
    emulator.stop()
    assert conn.closed() and waiting.response() is None
    held.release()
    waiting.close()
    emulator.start()
    assert emulator.port == port
    again = Conn(emulator)
    try:
        again.send(get_task_request(emulator))
        assert again.json()[0] == 200
    finally:
        again.close()


def test_seed_flow_through_a_client_that_sends_chunked_bodies(emulator: DataWorksEmulator) -> None:
    """ListTaskInstances then TriggerSchedulerTaskInstance, bodies chunked (as Node's @alicloud/openapi-client)."""
    client = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)

    def post(action: str, query: list[tuple[str, str]], fields: dict[str, int]) -> dict:
        body = urlencode(fields).encode()
        headers = signed_headers(emulator, "POST", action, query, body)
        target = "/?" + urlencode(query) if query else "/"
        client.request("POST", target, body=iter([body[:9], body[9:]]), headers=headers, encode_chunked=True)
        response = client.getresponse()
        answer = json.loads(response.read())
        assert response.status == 200, answer
        return answer

    try:
        listed = post("ListTaskInstances", [], {"ProjectId": WORKSPACE, "Bizdate": BIZDATE, "TaskId": RELEASE})
        (inst,) = listed["PagingInfo"]["TaskInstances"]
        assert inst["Status"] == "WaitTrigger"
        fields = {"TaskId": RELEASE, "TriggerTime": inst["TriggerTime"]}
        assert post("TriggerSchedulerTaskInstance", [("EnvType", "Prod")], fields)["Success"] is True
    finally:
        client.close()
    assert emulator.instance_of(RELEASE, SHANGHAI_0030).status.value == "Success"
    assert [c.http_status for c in emulator.calls] == [200, 200]
