"""The emulator, driven by the official SDK over loopback HTTP (sync and async), and by raw signed requests."""

from __future__ import annotations

import asyncio
import hashlib
import json
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_credentials.models import Config as CredentialConfig
from alibabacloud_dataworks_public20240518 import models as m
from alibabacloud_dataworks_public20240518.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException, ThrottlingException
from alibabacloud_tea_openapi.models import Config
from darabonba.runtime import RuntimeOptions
from Tea.exceptions import UnretryableException

from airflow_provider_dataworks.emulator import DataWorksEmulator, EmulatorControl
from airflow_provider_dataworks.emulator.api import signature as sig
from tests.conftest import LOAD_A, LOAD_B, RELEASE, SHANGHAI_0030, UPSTREAM, WORKSPACE, ms

pytestmark = pytest.mark.oldest_sdk

BIZDATE = ms(datetime(2026, 11, 24, tzinfo=timezone(timedelta(hours=8))))


def client(emu: DataWorksEmulator, **over: str) -> Client:
    cfg = {"access_key_id": emu.access_key_id, "access_key_secret": emu.access_key_secret, **over}
    return Client(Config(endpoint=emu.host_port, protocol="http", read_timeout=2000, **cfg))


def instance_of(c: Client, task_id: int) -> m.ListTaskInstancesResponseBodyPagingInfoTaskInstances:
    body = c.list_task_instances(
        m.ListTaskInstancesRequest(project_id=WORKSPACE, bizdate=BIZDATE, task_id=task_id)
    ).body
    (inst,) = body.paging_info.task_instances
    return inst


def test_seed_python_flow_releases_instance_and_downstream(emulator: DataWorksEmulator) -> None:
    c = client(emulator)
    assert instance_of(c, RELEASE).status == "WaitTrigger"
    request = m.TriggerSchedulerTaskInstanceRequest(task_id=RELEASE, env_type="Prod", trigger_time=ms(SHANGHAI_0030))
    assert c.trigger_scheduler_task_instance_with_options(request, RuntimeOptions()).body.success is True
    inst = instance_of(c, RELEASE)
    assert inst.status == "Success"
    downstream = c.list_downstream_task_instances(m.ListDownstreamTaskInstancesRequest(id=inst.id)).body.paging_info
    assert {d.task_instance.task_id: d.task_instance.status for d in downstream.downstream_task_instances} == {
        LOAD_A: "Running",
        LOAD_B: "Running",
    }
    emulator.clock.advance(timedelta(minutes=4))
    assert instance_of(c, LOAD_B).status == "Success" and instance_of(c, LOAD_A).status == "Running"
    wf = c.get_workflow_instance(m.GetWorkflowInstanceRequest(id=inst.workflow_instance_id)).body.workflow_instance
    assert wf.status == "Running"
    emulator.clock.advance(timedelta(minutes=2))
    wf = c.get_workflow_instance(m.GetWorkflowInstanceRequest(id=inst.workflow_instance_id)).body.workflow_instance
    assert wf.status == "Success"
    assert [c.action for c in emulator.calls].count("TriggerSchedulerTaskInstance") == 1


def test_async_client_speaks_to_the_emulator(emulator: DataWorksEmulator) -> None:
    c = client(emulator)

    async def flow() -> tuple[str, str]:
        listed = await c.list_task_instances_async(
            m.ListTaskInstancesRequest(project_id=WORKSPACE, bizdate=BIZDATE, task_ids=[RELEASE, LOAD_A])
        )
        ids = {i.task_id: i.id for i in listed.body.paging_info.task_instances}
        await c.trigger_scheduler_task_instance_with_options_async(
            m.TriggerSchedulerTaskInstanceRequest(task_id=RELEASE, env_type="Prod", trigger_time=ms(SHANGHAI_0030)),
            RuntimeOptions(),
        )
        got = await c.get_task_instance_async(m.GetTaskInstanceRequest(id=ids[RELEASE]))
        down = await c.get_task_instance_async(m.GetTaskInstanceRequest(id=ids[LOAD_A]))
        return got.body.task_instance.status, down.body.task_instance.status

    assert asyncio.run(flow()) == ("Success", "Running")


def test_every_other_operation(emulator: DataWorksEmulator) -> None:
    c = client(emulator)
    task = c.get_task(m.GetTaskRequest(id=RELEASE)).body.task
    assert (task.project_id, task.trigger.cron, task.type) == (WORKSPACE, "00 30 00 * * ?", "SCHEDULER_TRIGGER")
    assert c.get_project(m.GetProjectRequest(id=WORKSPACE)).body.project.status == "Available"
    projects = c.list_projects(m.ListProjectsRequest(page_size=1)).body.paging_info
    assert (projects.total_count, projects.projects[0].id) == (1, WORKSPACE)
    a, b = instance_of(c, LOAD_A).id, instance_of(c, LOAD_B).id
    assert c.suspend_task_instances(m.SuspendTaskInstancesRequest(ids=[a])).body.success_info[str(a)].success
    assert c.resume_task_instances(m.ResumeTaskInstancesRequest(ids=[a])).body.success_info[str(a)].success
    stopped = c.stop_task_instances(m.StopTaskInstancesRequest(ids=[a])).body.success_info
    assert stopped[str(a)].success and instance_of(c, LOAD_A).status == "Failure"
    assert c.rerun_task_instances(m.RerunTaskInstancesRequest(ids=[a])).body.success_info[str(a)].success
    assert instance_of(c, LOAD_A).status == "NotRun" and instance_of(c, LOAD_A).run_number == 2
    assert c.set_success_task_instances(m.SetSuccessTaskInstancesRequest(ids=[b])).body.success_info[str(b)].success
    assert instance_of(c, LOAD_B).status == "Success"
    again = c.stop_task_instances(m.StopTaskInstancesRequest(ids=[b])).body.success_info[str(b)]
    assert not again.success and "already Success" in again.message


def test_list_filters_sorting_and_paging(emulator: DataWorksEmulator) -> None:
    c = client(emulator)
    body = c.list_task_instances(
        m.ListTaskInstancesRequest(project_id=WORKSPACE, bizdate=BIZDATE, sort_by="TriggerTime Asc", page_size=2)
    ).body.paging_info
    assert body.total_count == 4 and len(body.task_instances) == 2
    assert body.task_instances[0].task_id == UPSTREAM
    waiting = c.list_task_instances(
        m.ListTaskInstancesRequest(project_id=WORKSPACE, bizdate=BIZDATE, status="WaitTrigger")
    ).body.paging_info.task_instances
    assert [i.task_id for i in waiting] == [RELEASE]
    with pytest.raises(ClientException) as err:
        c.list_task_instances(m.ListTaskInstancesRequest(project_id=WORKSPACE, bizdate=BIZDATE, page_size=501))
    assert err.value.code == "Invalid.Param" and "PageSize" in err.value.message


@pytest.mark.parametrize(
    ("request_obj", "code"),
    [
        (m.ListTaskInstancesRequest(project_id=WORKSPACE), "MissingBizdate"),
        (m.ListTaskInstancesRequest(bizdate=BIZDATE), "MissingProjectId"),
        (m.TriggerSchedulerTaskInstanceRequest(task_id=RELEASE, env_type="Prod"), "MissingTriggerTime"),
        (m.GetTaskInstanceRequest(), "MissingId"),
    ],
)
def test_missing_required_parameters_get_400_naming_them(
    emulator: DataWorksEmulator, request_obj: object, code: str
) -> None:
    c = client(emulator)
    action = type(request_obj).__name__.removesuffix("Request")
    method = getattr(c, "".join("_" + ch.lower() if ch.isupper() else ch for ch in action).lstrip("_"))
    with pytest.raises(ClientException) as err:
        method(request_obj)
    assert (err.value.status_code, err.value.code) == (400, code)
    assert code.removeprefix("Missing") in err.value.message


# ---------------------------------------------------------------------------------------------- signatures
def raw_call(
    emu: DataWorksEmulator,
    *,
    action: str = "GetTask",
    body: bytes = b"",
    secret: str | None = None,
    date: str | None = None,
    nonce: str | None = None,
    tamper: bytes | None = None,
    version: str = "2024-05-18",
    token: str | None = None,
    ak: str | None = None,
) -> tuple[int, dict]:
    """A hand-signed ACS3 request (the SDK always signs correctly, so rejections need this)."""
    headers = {
        "host": emu.host_port,
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": date or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": nonce or uuid.uuid4().hex,
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
        "content-type": "application/x-www-form-urlencoded",
    }
    if token is not None:
        headers["x-acs-security-token"] = token
        headers["x-acs-accesskey-id"] = ak or emu.access_key_id
    names = sorted(headers)
    query = [("Id", str(RELEASE))]
    to_sign = sig.string_to_sign("POST", "/", query, headers, names, headers["x-acs-content-sha256"])
    signature = sig.sign(secret or emu.access_key_secret, to_sign)
    headers["Authorization"] = (
        f"{sig.ALGORITHM} Credential={ak or emu.access_key_id},SignedHeaders={';'.join(names)},Signature={signature}"
    )
    request = urllib.request.Request(f"{emu.endpoint}/?Id={RELEASE}", data=tamper if tamper is not None else body,
                                     headers=headers, method="POST")  # fmt: skip
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_signature_rejections(emulator: DataWorksEmulator) -> None:
    assert raw_call(emulator)[0] == 200
    assert raw_call(emulator, secret="wrong")[1]["Code"] == "SignatureDoesNotMatch"
    status, body = raw_call(emulator, ak="LTAI-nobody")
    assert (status, body["Code"]) == (404, "InvalidAccessKeyId.NotFound")
    assert raw_call(emulator, body=b"Id=1", tamper=b"Id=2")[1]["Code"] == "SignatureDoesNotMatch"
    old = (datetime.now(timezone.utc) - timedelta(minutes=16)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert raw_call(emulator, date=old)[1]["Code"] == "InvalidTimeStamp.Expired"
    nonce = uuid.uuid4().hex
    assert raw_call(emulator, nonce=nonce)[0] == 200
    assert raw_call(emulator, nonce=nonce)[1]["Code"] == "SignatureNonceUsed"
    assert raw_call(emulator, version="2020-05-18")[1]["Code"] == "InvalidVersion"
    assert raw_call(emulator, action="DeleteEverything")[1]["Code"] == "InvalidApi.NotFound"
    status, body = raw_call(emulator, secret="wrong")
    assert status == 400 and emulator.access_key_secret not in json.dumps(body)
    assert emulator.access_key_secret not in repr(emulator.calls)


def test_sdk_signature_errors_surface_as_client_exceptions(emulator: DataWorksEmulator) -> None:
    with pytest.raises(ClientException) as err:
        client(emulator, access_key_secret="not-the-secret").get_task(m.GetTaskRequest(id=RELEASE))
    assert err.value.code == "SignatureDoesNotMatch"
    with pytest.raises(ClientException) as err:
        client(emulator, access_key_id="LTAI-unknown").get_task(m.GetTaskRequest(id=RELEASE))
    assert (err.value.status_code, err.value.code) == (404, "InvalidAccessKeyId.NotFound")


def test_sts_keys_need_their_security_token(emulator: DataWorksEmulator) -> None:
    sts = emulator.add_sts_credentials()
    ok = client(emulator, access_key_id=sts.access_key_id, access_key_secret=sts.access_key_secret,
                security_token=sts.security_token)  # fmt: skip
    assert ok.get_task(m.GetTaskRequest(id=RELEASE)).body.task.id == RELEASE
    with pytest.raises(ClientException) as err:
        client(emulator, access_key_id=sts.access_key_id, access_key_secret=sts.access_key_secret).get_task(
            m.GetTaskRequest(id=RELEASE)
        )
    assert err.value.code == "InvalidSecurityToken.Malformed"
    wrong = raw_call(emulator, ak=sts.access_key_id, secret=sts.access_key_secret, token="not-it")
    assert wrong[1]["Code"] == "InvalidSecurityToken.MismatchWithAccessKey"


# ---------------------------------------------------------------------------------------------- faults
def test_each_fault_kind_surfaces_as_the_documented_sdk_exception(emulator: DataWorksEmulator) -> None:
    c = client(emulator)
    get = m.GetTaskRequest(id=RELEASE)
    emulator.inject_fault("GetTask", kind="server_error")
    with pytest.raises(ServerException) as server:
        c.get_task(get)
    assert (server.value.status_code, server.value.code) == (500, "InternalError.System")
    emulator.inject_fault("GetTask", kind="throttle", retry_after_ms=1500)
    with pytest.raises(ThrottlingException) as throttled:
        c.get_task(get)
    assert throttled.value.retry_after == 1500
    emulator.inject_fault("GetTask", kind="throttle")
    with pytest.raises(ClientException) as plain_429:
        c.get_task(get)
    assert (plain_429.value.status_code, plain_429.value.code) == (429, "Throttling.Api")
    for kind in ("drop", "non_json"):
        emulator.inject_fault("GetTask", kind=kind)
        with pytest.raises(UnretryableException):
            c.get_task(get)
    emulator.inject_fault("GetTask", kind="slow", delay_seconds=3)
    with pytest.raises(UnretryableException, match=r"(?i)timed? ?out"):
        c.get_task(get)
    emulator.inject_fault(None, kind="error", http_status=403, code="Forbidden.Access", message="no")
    with pytest.raises(ClientException) as forbidden:
        c.get_project(m.GetProjectRequest(id=WORKSPACE))
    assert forbidden.value.code == "Forbidden.Access"
    assert c.get_task(get).body.task.id == RELEASE  # every injected fault was used up


def test_fault_rate_and_other_actions_untouched(emulator: DataWorksEmulator) -> None:
    c = client(emulator)
    emulator.inject_fault("GetProject", kind="server_error", rate=1.0)
    assert c.get_task(m.GetTaskRequest(id=RELEASE)).body.task.id == RELEASE
    for _ in range(3):
        with pytest.raises(ServerException):
            c.get_project(m.GetProjectRequest(id=WORKSPACE))
    emulator.clear_faults()
    assert c.get_project(m.GetProjectRequest(id=WORKSPACE)).body.project.id == WORKSPACE


def test_daily_and_qps_quotas() -> None:
    with DataWorksEmulator(daily_quota=3) as emu:
        emu.add_workspace(1, "cn-shanghai")
        c = client(emu)
        for _ in range(3):
            c.get_project(m.GetProjectRequest(id=1))
        with pytest.raises(ClientException) as err:
            c.get_project(m.GetProjectRequest(id=1))
        assert (err.value.status_code, err.value.code) == (429, "Throttling.Api.Risk")
    with DataWorksEmulator(qps=2) as emu:
        emu.add_workspace(1, "cn-shanghai")
        c = client(emu)
        codes = []
        for _ in range(4):
            try:
                c.get_project(m.GetProjectRequest(id=1))
                codes.append("ok")
            except ClientException as exc:
                codes.append(exc.code)
        assert "Throttling.User" in codes and codes[0] == "ok"


def test_a_scenarios_quota_takes_what_the_cli_limit_flags_take() -> None:
    """``quota:`` in a scenario: an edition, per-kind QPS over it, the throttle's retry-after, the reset."""
    with DataWorksEmulator() as emu:
        quota = {"edition": "enterprise", "write_qps": 2, "retry_after_ms": 1500, "reset": "10:15:30 UTC"}
        emu.load_spec({"quota": quota})
        limits = {"qps": None, "read_qps": 50.0, "write_qps": 2.0, "daily": None, "reset": "10:15:30 UTC"}
        assert emu.quota.limits() == limits
        assert emu.quota.retry_after_ms == 1500
        emu.load_spec({"quota": {"read_qps": 0.5}})
        assert (emu.quota.read_qps, emu.quota.write_qps, emu.quota.retry_after_ms) == (0.5, None, None)
        with pytest.raises(ValueError, match="edition"):
            emu.load_spec({"quota": {"edition": "platinum"}})


def test_control_api_from_another_process_view(emulator: DataWorksEmulator) -> None:
    control = EmulatorControl(emulator.endpoint)
    assert control.health()["ok"]
    control.load_spec({"workspaces": [{"id": 2002, "region": "eu-central-1", "tasks": [
        {"id": 800001, "name": "berlin_release", "http_trigger": True, "cron": "0 6 * * *"}]}]})  # fmt: skip
    assert emulator.backend.workspace(2002).timezone == "Europe/Berlin"
    control.set_clock(advance_seconds=3600)
    assert emulator.clock.now() == SHANGHAI_0030 + timedelta(minutes=61)
    emulator.instance_of(RELEASE, SHANGHAI_0030)  # instances exist once a day is generated and read
    (inst,) = [i for i in control.instances(RELEASE) if i["TriggerTime"] == ms(SHANGHAI_0030)]
    assert control.set_instance_status(inst["Id"], "Failure")["Status"] == "Failure"
    control.inject_fault(kind="server_error", action="GetTask")
    assert control.calls() == [] and len(emulator.faults.active()) == 1
    control.clear_faults()
    control.reset()
    assert emulator.backend.workspaces == {}


def test_cli_serves_a_yaml_scenario_and_prints_credentials(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    spec = tmp_path / "scenario.yaml"
    spec.write_text(
        "workspaces:\n"
        "  - id: 4004\n"
        "    region: us-east-1\n"
        "    tasks:\n"
        "      - {id: 1, name: release, http_trigger: true, cron: '0 6 * * *'}\n"
        "roles: ['acs:ram::1:role/airflow']\n"
        "oidc_providers: [{arn: 'acs:ram::1:oidc-provider/ack', token: a.b.c}]\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_dataworks.emulator.cli", "--spec", str(spec)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        c = Client(Config(endpoint=info["host_port"], protocol="http", access_key_id=info["access_key_id"],
                          access_key_secret=info["access_key_secret"]))  # fmt: skip
        assert c.get_project(m.GetProjectRequest(id=4004)).body.project.id == 4004
        assert EmulatorControl(info["endpoint"]).calls()[0]["action"] == "GetProject"
        # The scenario's role, assumed through the emulated STS; its temporary key signs DataWorks calls.
        role = CredentialClient(CredentialConfig(
            type="ram_role_arn", access_key_id=info["access_key_id"], access_key_secret=info["access_key_secret"],
            role_arn="acs:ram::1:role/airflow", sts_endpoint=info["endpoint"]))  # fmt: skip
        c = Client(Config(endpoint=info["host_port"], protocol="http", credential=role))
        assert c.get_project(m.GetProjectRequest(id=4004)).body.project.id == 4004
        oidc_token = tmp_path / "token"
        oidc_token.write_text("a.b.c")
        oidc = CredentialClient(CredentialConfig(
            type="oidc_role_arn", role_arn="acs:ram::1:role/airflow", oidc_provider_arn="acs:ram::1:oidc-provider/ack",
            oidc_token_file_path=str(oidc_token), sts_endpoint=info["endpoint"]))  # fmt: skip
        assert oidc.get_credential().access_key_id.startswith("STS.")
        actions = [call["action"] for call in EmulatorControl(info["endpoint"]).calls()]
        assert actions == ["GetProject", "AssumeRole", "GetProject", "AssumeRoleWithOIDC"]
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
