"""The SDK versions the package accepts keep what the provider reads: run on the newest (``make test``) and the
oldest accepted (``make test-sdk-oldest``, the floor in pyproject.toml).
"""

from __future__ import annotations

import re
from datetime import timedelta
from importlib.metadata import version
from pathlib import Path

import pytest
from alibabacloud_dataworks_public20240518 import models as m
from alibabacloud_dataworks_public20240518.client import Client
from alibabacloud_tea_openapi.models import Config

from airflow_provider_dataworks.emulator import DataWorksEmulator
from tests.conftest import RELEASE, SHANGHAI_0030, WORKSPACE, ms
from tests.emulator.test_emulator_wire import BIZDATE

pytestmark = pytest.mark.oldest_sdk

ROOT = Path(__file__).resolve().parents[2]
SDK = "alibabacloud_dataworks_public20240518"


def _floor() -> str:
    match = re.search(rf'"{SDK}>=([0-9.]+)"', (ROOT / "pyproject.toml").read_text())
    assert match, "pyproject.toml must give the SDK a floor"
    return match.group(1)


def _as_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3])


def test_the_oldest_sdk_target_pins_the_floor() -> None:
    pinned = re.search(rf"SDK_OLDEST \?= {SDK}==([0-9.]+)", (ROOT / "Makefile").read_text())
    assert pinned and pinned.group(1) == _floor()
    assert _as_tuple(version(SDK)) >= _as_tuple(_floor())


def test_installed_sdk_keeps_waiting_trigger_time(emulator: DataWorksEmulator) -> None:
    """The 24-hour re-send reads WaitingTriggerTime: an SDK model without it drops it silently (6.2.0 does)."""
    emulator.clock.advance(timedelta(minutes=1))
    client = Client(Config(endpoint=emulator.host_port, protocol="http", access_key_id=emulator.access_key_id,
                           access_key_secret=emulator.access_key_secret))  # fmt: skip
    listed = client.list_task_instances(m.ListTaskInstancesRequest(project_id=WORKSPACE, bizdate=BIZDATE,
                                                                   task_id=RELEASE)).body.to_map()  # fmt: skip
    (row,) = listed["PagingInfo"]["TaskInstances"]
    got = client.get_task_instance(m.GetTaskInstanceRequest(id=row["Id"])).body.to_map()["TaskInstance"]
    waiting_since = emulator.instance_of(RELEASE, SHANGHAI_0030).waiting_trigger_at
    assert waiting_since is not None
    assert row["WaitingTriggerTime"] == got["WaitingTriggerTime"] == ms(waiting_since)
