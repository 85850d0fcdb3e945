"""Accounts in the emulator, driven by the official SDK over loopback HTTP: a key sees only its account's
workspaces (403 ``Forbidden.Access`` naming both accounts and the workspace), STS keys act for the account they
came from, quotas count per account and region, and a region's endpoint knows only that region's workspaces."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_credentials.models import Config as CredentialConfig
from alibabacloud_dataworks_public20240518 import models as m
from alibabacloud_dataworks_public20240518.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config

from airflow_provider_dataworks.emulator import DataWorksEmulator
from airflow_provider_dataworks.emulator.api.auth import Credential
from airflow_provider_dataworks.emulator.backend import DEFAULT_ACCOUNT_ID
from tests.conftest import ms

A, B = "1111111111111111", "2222222222222222"
WS_A, WS_A_SG, WS_B = 2001, 2002, 3001  # A: cn-shanghai and ap-southeast-1; B: eu-central-1
NODE_A, NODE_B = 800001, 900001
#: 2026-11-25 10:00 Asia/Shanghai: both nodes' instances of that day exist (generated the evening before).
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)
BIZDATE_A = ms(datetime(2026, 11, 24, tzinfo=timezone(timedelta(hours=8))))
BIZDATE_B = ms(datetime(2026, 11, 24, tzinfo=timezone(timedelta(hours=1))))


@pytest.fixture
def emu() -> Iterator[DataWorksEmulator]:
    with DataWorksEmulator() as emu:
        emu.add_account(A)
        emu.add_account(B)
        emu.add_workspace(WS_A, "cn-shanghai", name="tenant_a", account=A)
        emu.add_workspace(WS_A_SG, "ap-southeast-1", name="tenant_a_sg", account=A)
        emu.add_workspace(WS_B, "eu-central-1", name="tenant_b", account=B)
        emu.add_task(WS_A, NODE_A, "a_done", cron="0 9 * * *")
        emu.add_task(WS_B, NODE_B, "b_release", http_trigger=True, cron="0 6 * * *")
        emu.clock.freeze(NOW)
        yield emu


def client(endpoint: str, key: Credential) -> Client:
    return Client(Config(endpoint=endpoint.removeprefix("http://"), protocol="http", read_timeout=5000,
                         access_key_id=key.access_key_id, access_key_secret=key.access_key_secret,
                         security_token=key.security_token))  # fmt: skip


def refused(call: object) -> ClientException:
    assert callable(call)
    with pytest.raises(ClientException) as err:
        call()
    return err.value


def test_a_key_sees_only_its_accounts_workspaces(emu: DataWorksEmulator) -> None:
    key_a = emu.add_access_key(account=A)
    a = client(emu.endpoint, key_a)
    assert a.get_project(m.GetProjectRequest(id=WS_A)).body.project.id == WS_A
    assert a.get_task(m.GetTaskRequest(id=NODE_A)).body.task.project_id == WS_A
    listed = a.list_projects(m.ListProjectsRequest()).body.paging_info.projects
    assert [p.id for p in listed] == [WS_A, WS_A_SG]

    instance_b = emu.instance_of(NODE_B, datetime(2026, 11, 25, 5, 0, tzinfo=timezone.utc))  # 06:00 in Berlin
    foreign = [
        lambda: a.get_project(m.GetProjectRequest(id=WS_B)),
        lambda: a.get_task(m.GetTaskRequest(id=NODE_B)),
        lambda: a.list_task_instances(m.ListTaskInstancesRequest(project_id=WS_B, bizdate=BIZDATE_B)),
        # Its own workspace, another account's node: refused for the node, not answered with an empty page.
        lambda: a.list_task_instances(m.ListTaskInstancesRequest(project_id=WS_A, bizdate=BIZDATE_A, task_id=NODE_B)),
        lambda: a.get_task_instance(m.GetTaskInstanceRequest(id=instance_b.id)),
        lambda: a.stop_task_instances(m.StopTaskInstancesRequest(ids=[instance_b.id])),
        lambda: a.trigger_scheduler_task_instance(m.TriggerSchedulerTaskInstanceRequest(
            task_id=NODE_B, env_type="Prod", trigger_time=ms(instance_b.trigger_time))),
    ]  # fmt: skip
    for call in foreign:
        err = refused(call)
        assert (err.status_code, err.code) == (403, "Forbidden.Access")
        assert f"account {A} (AccessKey {key_a.access_key_id})" in err.message
        assert f"workspace {WS_B} (tenant_b), which belongs to account {B}" in err.message
    assert instance_b.accepted_triggers == 0 and instance_b.pending_trigger_at is None
    assert {(c.access_key_id, c.account_id) for c in emu.calls} == {(key_a.access_key_id, A)}
    assert [c.http_status for c in emu.calls].count(403) == len(foreign)


def test_the_default_account_owns_what_the_scenario_gives_no_other(emu: DataWorksEmulator) -> None:
    emu.add_workspace(1001, "cn-hangzhou")
    default = client(emu.endpoint, emu.credential(emu.access_key_id))  # type: ignore[arg-type]
    assert [p.id for p in default.list_projects(m.ListProjectsRequest()).body.paging_info.projects] == [1001]
    err = refused(lambda: default.get_project(m.GetProjectRequest(id=WS_A)))
    assert err.code == "Forbidden.Access" and f"account {DEFAULT_ACCOUNT_ID} " in err.message
    assert emu.calls[-1].account_id == DEFAULT_ACCOUNT_ID


def test_sts_keys_act_for_the_account_they_come_from(emu: DataWorksEmulator) -> None:
    key_a = emu.add_access_key(account=A)
    own_role = emu.add_role("acs:ram::1111111111111111:role/airflow")
    role_in_b = emu.add_role(
        "acs:ram::2222222222222222:role/from-a", trusted_access_key_ids={key_a.access_key_id}, account=B
    )

    def assumed(role_arn: str) -> Client:
        credential = CredentialClient(CredentialConfig(
            type="ram_role_arn", access_key_id=key_a.access_key_id, access_key_secret=key_a.access_key_secret,
            role_arn=role_arn, sts_endpoint=emu.endpoint))  # fmt: skip
        return Client(Config(endpoint=emu.host_port, protocol="http", credential=credential))

    as_a = assumed(own_role)
    assert as_a.get_project(m.GetProjectRequest(id=WS_A)).body.project.id == WS_A
    assert refused(lambda: as_a.get_project(m.GetProjectRequest(id=WS_B))).code == "Forbidden.Access"
    # A role of account B that trusts A's key: its temporary key acts for B (how one tenant reaches another).
    as_b = assumed(role_in_b)
    assert as_b.get_project(m.GetProjectRequest(id=WS_B)).body.project.id == WS_B
    err = refused(lambda: as_b.get_project(m.GetProjectRequest(id=WS_A)))
    assert f"account {B} (AccessKey STS." in err.message
    assert [k.account_id for k in emu.sts.issued] == [A, B]
    signed = [c for c in emu.calls if c.action == "GetProject"]
    assert [(c.access_key_id.startswith("STS."), c.account_id) for c in signed] == [(True, A)] * 2 + [(True, B)] * 2
    direct = client(emu.endpoint, emu.add_sts_credentials(account=B))
    assert direct.get_project(m.GetProjectRequest(id=WS_B)).body.project.id == WS_B


def test_quota_is_per_account_and_region_shared_by_the_accounts_keys(emu: DataWorksEmulator) -> None:
    emu.quota.configure(qps=None, daily=3)
    a1, a2 = client(emu.endpoint, emu.add_access_key(account=A)), client(emu.endpoint, emu.add_access_key(account=A))
    a_sts = client(emu.endpoint, emu.add_sts_credentials(account=A))
    b = client(emu.endpoint, emu.add_access_key(account=B))
    a1.get_project(m.GetProjectRequest(id=WS_A))
    a2.get_project(m.GetProjectRequest(id=WS_A))
    a_sts.get_task(m.GetTaskRequest(id=NODE_A))
    assert emu.quota.used_today(f"{A}/cn-shanghai", emu.clock.now()) == 3
    err = refused(lambda: a2.get_project(m.GetProjectRequest(id=WS_A)))
    assert (err.status_code, err.code) == (429, "Throttling.Api.Risk")
    # The same account in another region, and another account, each have a quota of their own.
    assert a1.get_project(m.GetProjectRequest(id=WS_A_SG)).body.project.id == WS_A_SG
    assert b.get_project(m.GetProjectRequest(id=WS_B)).body.project.id == WS_B
    assert emu.quota.used_today(f"{A}/ap-southeast-1", emu.clock.now()) == 1
    assert emu.quota.used_today(f"{B}/eu-central-1", emu.clock.now()) == 1
    # A region's endpoint counts in its region whatever the call names (here a workspace it does not know).
    shanghai = client(emu.endpoint_for("cn-shanghai"), emu.add_access_key(account=B))
    assert refused(lambda: shanghai.get_project(m.GetProjectRequest(id=WS_B))).code == "Invalid.Project.NotFound"
    assert emu.quota.used_today(f"{B}/cn-shanghai", emu.clock.now()) == 1


def test_a_regions_endpoint_knows_only_its_workspaces(emu: DataWorksEmulator) -> None:
    key_a = emu.add_access_key(account=A)
    endpoint = emu.endpoint_for("cn-shanghai")
    assert endpoint != emu.endpoint and emu.endpoint_for("cn-shanghai") == endpoint
    shanghai = client(endpoint, key_a)
    assert [p.id for p in shanghai.list_projects(m.ListProjectsRequest()).body.paging_info.projects] == [WS_A]
    err = refused(lambda: shanghai.get_project(m.GetProjectRequest(id=WS_A_SG)))
    assert (err.status_code, err.code) == (404, "Invalid.Project.NotFound") and "in region cn-shanghai" in err.message
    # Another region's workspace of another account is not found there at all (404 before 403).
    assert refused(lambda: shanghai.get_task(m.GetTaskRequest(id=NODE_B))).code == "Invalid.Task.NotFound"
    emu.stop()
    emu.start()
    assert emu.endpoint_for("cn-shanghai") == endpoint
    assert shanghai.get_project(m.GetProjectRequest(id=WS_A)).body.project.id == WS_A


def test_scenario_files_take_accounts_and_their_keys() -> None:
    spec = {
        "accounts": [{"id": A, "access_keys": [{"id": "LTAI5tTenantA", "secret": "tenant-a-secret"}]}],
        "workspaces": [{"id": WS_A, "region": "cn-shanghai", "account": A,
                        "tasks": [{"id": NODE_A, "name": "a", "http_trigger": True}]}],
        "roles": [{"arn": "acs:ram::1111111111111111:role/r", "account": A}],
    }  # fmt: skip
    with DataWorksEmulator() as emu:
        emu.load_spec(spec)
        key = emu.credential("LTAI5tTenantA")
        assert key is not None and key.account_id == A
        assert emu.backend.workspace(WS_A).account_id == A
        assert client(emu.endpoint, key).get_task(m.GetTaskRequest(id=NODE_A)).body.task.id == NODE_A
    bad = [
        ({"workspaces": [{"id": 1, "account": "3333333333333333"}]}, "account '3333333333333333' is not defined"),
        ({"accounts": [{"id": "tenant-a"}]}, "account id 'tenant-a' must be the account's numeric id"),
        ({"accounts": [{"id": A, "access_keys": [{"id": "k", "secret": "s3cr3t", "x": 1}]}]}, "each access key is"),
        ({"accounts": [{"id": A, "keys": [{"id": "k", "secret": "s3cr3t"}]}]}, "accounts: each is {id, access_keys"),
    ]
    for bad_spec, message in bad:
        with pytest.raises(ValueError) as err:
            DataWorksEmulator().load_spec(bad_spec)
        assert message in str(err.value) and "s3cr3t" not in str(err.value)
