"""The seed's flow through Alibaba's Node.js OpenAPI transport (``@alicloud/openapi-client``), which sends POST
bodies chunked (``Transfer-Encoding: chunked``, no ``Content-Length``; ``make test`` installs it in tests/node),
in process and against the ``dataworks-emulator`` process, where a v1-signed client follows it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from aliyunsdkcore.client import AcsClient

from airflow_provider_dataworks.emulator import DataWorksEmulator, EmulatorControl
from tests.conftest import RELEASE, SHANGHAI_0030, WORKSPACE
from tests.emulator.test_emulator_v1 import common_request
from tests.emulator.test_emulator_wire import BIZDATE

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
SCRIPT = NODE_DIR / "seed_flow.js"
SHANGHAI_0030_PLUS_1 = SHANGHAI_0030 + timedelta(minutes=1)  # the instance waits for its trigger


def run_seed_flow(host_port: str, access_key_id: str, secret: str) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "@alicloud" / "openapi-client").is_dir():
        pytest.fail("the Node client is not installed: `make tests/node/node_modules/.installed` (make test does it)")
    env = {"PATH": os.environ.get("PATH", ""), "ALIBABA_CLOUD_ACCESS_KEY_ID": access_key_id,
           "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret}  # fmt: skip
    argv = [node, str(SCRIPT), host_port, str(WORKSPACE), str(BIZDATE), str(RELEASE)]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_the_node_client_sends_chunked_bodies() -> None:
    """What the client puts on the wire, caught by a bare socket: the reason this suite exists."""
    listener = socket.create_server(("127.0.0.1", 0))
    seen = bytearray()

    def capture() -> None:
        conn, _ = listener.accept()
        with conn:
            while b"\r\n0\r\n\r\n" not in seen and (data := conn.recv(65536)):
                seen.extend(data)

    catcher = threading.Thread(target=capture, daemon=True)
    catcher.start()
    try:
        result = run_seed_flow(f"127.0.0.1:{listener.getsockname()[1]}", "LTAI5tNobody", "not-a-secret")
        catcher.join(timeout=30)
    finally:
        listener.close()
    assert result.returncode != 0  # nobody answered
    head = bytes(seen).split(b"\r\n\r\n", 1)[0].lower()
    assert b"transfer-encoding: chunked" in head and b"content-length" not in head, bytes(seen)


def test_seed_flow_through_the_node_openapi_client(emulator: DataWorksEmulator) -> None:
    result = run_seed_flow(emulator.host_port, emulator.access_key_id, emulator.access_key_secret)
    assert result.returncode == 0, result.stderr
    listed, triggered = (json.loads(line) for line in result.stdout.splitlines())
    assert listed["PagingInfo"]["TaskInstances"][0]["Status"] == "WaitTrigger"
    assert triggered["Success"] is True
    assert emulator.instance_of(RELEASE, SHANGHAI_0030).status.value == "Success"
    assert [(c.action, c.http_status) for c in emulator.calls] == [
        ("ListTaskInstances", 200), ("TriggerSchedulerTaskInstance", 200)
    ]  # fmt: skip


def test_seed_flow_against_the_dataworks_emulator_process_chunked_and_v1_signed() -> None:
    """``dataworks-emulator`` (the demo workspace) as its own process: the Node client (chunked bodies) releases
    the instance, then aliyun-python-sdk-core (signature v1) reads it released and its trigger changes nothing.
    """
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_dataworks.emulator.cli",
            "--freeze-at",
            SHANGHAI_0030_PLUS_1.isoformat(),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        result = run_seed_flow(info["host_port"], info["access_key_id"], info["access_key_secret"])
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout.splitlines()[1])["Success"] is True
        v1 = AcsClient(info["access_key_id"], info["access_key_secret"], "cn-hangzhou", timeout=5, auto_retry=False)
        listed = json.loads(v1.do_action_with_exception(
            common_request(info["host_port"], "ListTaskInstances", ProjectId=WORKSPACE, Bizdate=BIZDATE, TaskId=RELEASE)
        ))  # fmt: skip
        (inst,) = listed["PagingInfo"]["TaskInstances"]
        assert inst["Status"] == "Success"
        trigger = common_request(info["host_port"], "TriggerSchedulerTaskInstance", TaskId=RELEASE,
                                 TriggerTime=inst["TriggerTime"])  # fmt: skip
        trigger.add_query_param("EnvType", "Prod")
        assert json.loads(v1.do_action_with_exception(trigger))["Success"] is True
        control = EmulatorControl(info["endpoint"])
        assert [(c["action"], c["http_status"]) for c in control.calls()] == [
            ("ListTaskInstances", 200), ("TriggerSchedulerTaskInstance", 200),
            ("ListTaskInstances", 200), ("TriggerSchedulerTaskInstance", 200),
        ]  # fmt: skip
        (released,) = [i for i in control.instances(RELEASE) if i["TriggerTime"] == inst["TriggerTime"]]
        assert (released["Releases"], released["RepeatedTriggers"]) == (1, 1)
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
