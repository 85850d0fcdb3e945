"""example_dataworks_cross_tenant with dag.test() against ONE emulator holding both accounts: tenant A (cn-shanghai,
Asia/Shanghai) and tenant B (eu-central-1, Europe/Berlin), each connection on its region's endpoint with its own
AccessKey. Checks who signed each call, B's TriggerTime in Berlin across daylight saving, the calls each tenant
spends, and that a mix-up fails for good with a message naming the account and the workspace."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pendulum
import pytest

from airflow_provider_dataworks.emulator import DataWorksEmulator
from airflow_provider_dataworks.emulator.api.auth import Credential
from tests.conftest import ms, run_dag, task_states

pytestmark = pytest.mark.usefixtures("airflow_db")

DAG_ID = "example_dataworks_cross_tenant"
SOURCE = (Path(__file__).resolve().parents[2] / "example_dags" / f"{DAG_ID}.py").read_text()
A, B = "1111111111111111", "2222222222222222"
WS_A, WS_B = 2001, 3001
NODE_A, NODE_B, LOAD_B = 800001, 900001, 900002
#: The provider's exception line in a task log.
OURS = re.compile(r"^(airflow_provider_dataworks\.exceptions\.\w+|\S*AirflowFailException): (?P<message>.+)$", re.M)


class Tenants:
    def __init__(self, emu: DataWorksEmulator) -> None:
        self.emu = emu
        emu.add_account(A)
        emu.add_account(B)
        self.key_a, self.key_b = emu.add_access_key(account=A), emu.add_access_key(account=B)
        emu.add_workspace(WS_A, "cn-shanghai", name="tenant_a", account=A)
        emu.add_workspace(WS_B, "eu-central-1", name="tenant_b", account=B)
        emu.add_task(WS_A, NODE_A, "a_orders_done", cron="0 9 * * *", duration=timedelta(minutes=10))
        emu.add_task(WS_B, NODE_B, "b_release", http_trigger=True, cron="0 6 * * *")
        emu.add_task(WS_B, LOAD_B, "b_load", cron="0 6 * * *", upstream=[NODE_B])
        emu.quota.configure(qps=None, daily=100)  # the Basic edition's day, per account and region

    def connection(self, key: Credential, region: str, workspace: int) -> str:
        extra = {"endpoint": self.emu.endpoint_for(region), "region_id": region, "project_id": workspace,
                 "retry_limit": 2}  # fmt: skip
        return json.dumps({"conn_type": "dataworks", "login": key.access_key_id, "password": key.access_key_secret,
                           "extra": extra})  # fmt: skip

    def calls_by(self, key: Credential) -> list[str]:
        return [c.action for c in self.emu.calls if c.access_key_id == key.access_key_id]


@pytest.fixture
def tenants(monkeypatch: pytest.MonkeyPatch) -> Iterator[Tenants]:
    with DataWorksEmulator() as emu:
        t = Tenants(emu)
        monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_TENANT_A", t.connection(t.key_a, "cn-shanghai", WS_A))
        monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_TENANT_B", t.connection(t.key_b, "eu-central-1", WS_B))
        yield t


#: B's 06:00 in Berlin on the day daylight saving starts (+02:00 since 02:00) and on a winter day (+01:00).
RUN_DATES = [
    pendulum.datetime(2026, 3, 29, 6, 0, tz="Europe/Berlin"),
    pendulum.datetime(2026, 11, 25, 6, 0, tz="Europe/Berlin"),
]


@pytest.mark.parametrize("run_date", RUN_DATES, ids=["dst-start", "winter"])
def test_each_tenant_is_called_with_its_own_key_in_its_own_zone(tenants: Tenants, run_date: pendulum.DateTime) -> None:
    emu = tenants.emu
    emu.clock.freeze(run_date.add(minutes=1))  # A's 09:00 Shanghai instance (01:00 UTC) finished hours ago
    dr = run_dag(SOURCE, DAG_ID, run_date)
    assert task_states(dr) == {"wait_tenant_a": "success", "release_tenant_b": "success"}

    # A's sensor: find the instance, one poke (done already). B's operator: find it, trigger it. 4 calls in all.
    assert tenants.calls_by(tenants.key_a) == ["ListTaskInstances", "GetTaskInstance"]
    assert tenants.calls_by(tenants.key_b) == ["ListTaskInstances", "TriggerSchedulerTaskInstance"]
    assert len(emu.calls) == 4 and {c.http_status for c in emu.calls} == {200}
    assert all(c.account_id == (A if c.access_key_id == tenants.key_a.access_key_id else B) for c in emu.calls)
    now = emu.clock.now()
    assert emu.quota.used_today(f"{A}/cn-shanghai", now) == 2 and emu.quota.used_today(f"{B}/eu-central-1", now) == 2

    a_list = next(c for c in emu.calls if c.access_key_id == tenants.key_a.access_key_id)
    day = run_date.date()
    assert a_list.params["ProjectId"] == str(WS_A)
    assert a_list.params["Bizdate"] == str(ms(pendulum.datetime(day.year, day.month, day.day, tz="Asia/Shanghai")
                                              .subtract(days=1)))  # fmt: skip
    (trigger,) = emu.calls_of("TriggerSchedulerTaskInstance")
    released = pendulum.from_timestamp(int(trigger.params["TriggerTime"]) / 1000, tz="Europe/Berlin")
    assert (released.hour, released.minute, released.date()) == (6, 0, day)
    assert released.utcoffset() == run_date.utcoffset() == timedelta(hours=2 if day.month == 3 else 1)
    assert emu.instance_of(NODE_B, run_date).releases == 1
    assert emu.instance_of(NODE_A, datetime(day.year, day.month, day.day, 1, 0, tzinfo=pendulum.UTC)).releases == 0


def _failure(capfd: pytest.CaptureFixture) -> str:
    out = capfd.readouterr()
    found = [m.group("message") for m in OURS.finditer(out.out + out.err)]
    assert found, (out.out + out.err)[-3000:]
    return found[-1]


def test_tenant_bs_connection_with_tenant_as_key_is_refused_naming_both_accounts(
    tenants: Tenants, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture
) -> None:
    """The mix-up: B's connection (B's region and workspace) was given A's AccessKey."""
    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_TENANT_B", tenants.connection(tenants.key_a, "eu-central-1", WS_B))
    run_date = RUN_DATES[1]
    tenants.emu.clock.freeze(run_date.add(minutes=1))
    dr = run_dag(SOURCE.replace(f'"{DAG_ID}"', '"cross_tenant_key_mixup"'), "cross_tenant_key_mixup", run_date)
    assert task_states(dr) == {"wait_tenant_a": "success", "release_tenant_b": "failed"}  # for good: no retry
    message = _failure(capfd)
    assert "ListTaskInstances failed: HTTP 403 Forbidden.Access" in message
    assert f"account {A} (AccessKey {tenants.key_a.access_key_id}) may not access workspace {WS_B}" in message
    assert f"which belongs to account {B}" in message and "another Alibaba Cloud account" in message
    assert "Connection 'dataworks_tenant_b'." in message  # which of the DAG's two connections to fix
    assert tenants.key_a.access_key_secret not in message
    refused = tenants.emu.calls[-1]
    assert (refused.action, refused.http_status, refused.account_id) == ("ListTaskInstances", 403, A)
    assert len(tenants.emu.calls) == 3 and not tenants.emu.calls_of("TriggerSchedulerTaskInstance")
    assert tenants.emu.instance_of(NODE_B, run_date).accepted_triggers == 0


def test_tenant_as_connection_aimed_at_tenant_bs_node_is_not_found_in_its_region(
    tenants: Tenants, capfd: pytest.CaptureFixture
) -> None:
    """The other mix-up: the operator names B's node but A's connection (A's region endpoint, A's workspace)."""
    source = SOURCE.replace(f'"{DAG_ID}"', '"cross_tenant_conn_mixup"').replace(
        'dataworks_conn_id="dataworks_tenant_b"', 'dataworks_conn_id="dataworks_tenant_a"'
    )
    run_date = RUN_DATES[1]
    tenants.emu.clock.freeze(run_date.add(minutes=1))
    dr = run_dag(source, "cross_tenant_conn_mixup", run_date)
    assert task_states(dr) == {"wait_tenant_a": "success", "release_tenant_b": "failed"}
    message = _failure(capfd)
    assert f"HTTP 404 Invalid.Task.NotFound: The task {NODE_B} does not exist in region cn-shanghai" in message
    assert (
        "region_id (or endpoint) is the workspace's region" in message and "Connection 'dataworks_tenant_a'." in message
    )
    assert tenants.calls_by(tenants.key_b) == [] and len(tenants.emu.calls) == 3
