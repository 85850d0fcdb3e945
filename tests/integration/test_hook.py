"""DataWorksHook against the emulator: connection checks, calls, retries, errors, async, import cost."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import timedelta

import pytest

from airflow_provider_dataworks.emulator import DataWorksEmulator
from airflow_provider_dataworks.exceptions import (
    DataWorksApiError,
    DataWorksConfigError,
    InstanceNotFoundError,
    InstanceNotGeneratedError,
)
from airflow_provider_dataworks.hooks import dataworks as hook_module
from airflow_provider_dataworks.hooks.connection import parse_connection
from airflow_provider_dataworks.hooks.dataworks import DataWorksHook
from tests.conftest import LOAD_A, LOAD_B, RELEASE, SHANGHAI_0030, WORKSPACE, connection_json, ms

pytestmark = [pytest.mark.every_airflow, pytest.mark.oldest_sdk]

T = ms(SHANGHAI_0030)


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hook_module, "RETRY_WAIT_MIN_S", 0.01)
    monkeypatch.setattr(hook_module, "RETRY_WAIT_MAX_S", 0.05)


def test_trigger_find_and_read(emulator: DataWorksEmulator, dataworks_conn: str) -> None:
    hook = DataWorksHook()
    inst = hook.find_instance(RELEASE, T, project_id=WORKSPACE, zone="Asia/Shanghai")
    assert (inst.task_id, inst.trigger_time_ms, inst.status.value) == (RELEASE, T, "WaitTrigger")
    hook.trigger_instance(RELEASE, T)
    assert hook.get_instance(inst.id).status.value == "Success"
    assert {i.task_id for i in hook.list_downstream(inst.id)} == {LOAD_A, LOAD_B}
    assert hook.get_workflow_instance(inst.workflow_instance_id).status.value == "Running"
    assert hook.get_task(RELEASE).project_id == WORKSPACE
    assert [c.action for c in emulator.calls] == [
        "ListTaskInstances", "TriggerSchedulerTaskInstance", "GetTaskInstance", "ListDownstreamTaskInstances",
        "GetWorkflowInstance", "GetTask",
    ]  # fmt: skip


def test_async_methods(emulator: DataWorksEmulator, dataworks_conn: str) -> None:
    hook = DataWorksHook()

    async def flow() -> tuple[str, int, str]:
        inst = await hook.afind_instance(RELEASE, T, project_id=WORKSPACE, zone="Asia/Shanghai")
        await hook.atrigger_instance(RELEASE, T)
        after = await hook.aget_instance(inst.id)
        down = await hook.alist_downstream(inst.id)
        wf = await hook.aget_workflow_instance(inst.workflow_instance_id)
        return after.status.value, len(down), wf.status.value

    assert asyncio.run(flow()) == ("Success", 2, "Running")


def test_no_instances_yet_and_no_exact_match(emulator: DataWorksEmulator, dataworks_conn: str) -> None:
    hook = DataWorksHook()
    with pytest.raises(InstanceNotGeneratedError, match="generates a day's instances the evening before"):
        hook.find_instance(RELEASE, T + 3 * 86_400_000, project_id=WORKSPACE, zone="Asia/Shanghai")
    with pytest.raises(InstanceNotFoundError) as err:
        hook.find_instance(RELEASE, T + 3_600_000, project_id=WORKSPACE, zone="Asia/Shanghai")
    assert "2026-11-25 00:30:00 +08:00" in str(err.value) and "scheduling zone" in str(err.value)
    with pytest.raises(InstanceNotFoundError, match="in Europe/Berlin"):  # wrong zone: a different day's list
        hook.find_instance(RELEASE, T, project_id=WORKSPACE, zone="Europe/Berlin")


def test_throttling_and_5xx_are_retried_with_exactly_one_trigger(
    emulator: DataWorksEmulator, dataworks_conn: str
) -> None:
    emulator.inject_fault("GetTask", kind="throttle", times=1, retry_after_ms=50)
    emulator.inject_fault("GetTask", kind="server_error", times=1)
    assert DataWorksHook().get_task(RELEASE).id == RELEASE
    outcomes = [(c.http_status, c.error_code) for c in emulator.calls_of("GetTask")]
    assert outcomes == [(429, "Throttling.Api"), (500, "InternalError.System"), (200, None)]


def test_the_trigger_call_is_retried_on_throttling_only(emulator: DataWorksEmulator, dataworks_conn: str) -> None:
    """After a 5xx the trigger may have been carried out: the hook leaves the decision to its caller."""
    emulator.inject_fault("TriggerSchedulerTaskInstance", kind="throttle", times=1, retry_after_ms=50)
    emulator.inject_fault("TriggerSchedulerTaskInstance", kind="server_error", times=1)
    with pytest.raises(DataWorksApiError) as err:
        DataWorksHook().trigger_instance(RELEASE, T)
    assert err.value.http_status == 500 and err.value.transient
    outcomes = [(c.http_status, c.error_code) for c in emulator.calls_of("TriggerSchedulerTaskInstance")]
    assert outcomes == [(429, "Throttling.Api"), (500, "InternalError.System")]
    DataWorksHook().trigger_instance(RELEASE, T)
    assert emulator.instance_of(RELEASE, T).releases == 1


def test_network_errors_are_retried_then_fail_with_a_clear_message(
    emulator: DataWorksEmulator, dataworks_conn: str
) -> None:
    emulator.inject_fault("GetTask", kind="drop", times=5)
    with pytest.raises(DataWorksApiError) as err:
        DataWorksHook().get_task(RELEASE)
    assert err.value.code == "NoAnswer" and "GetTask" in str(err.value)
    assert len(emulator.calls_of("GetTask")) == 3  # retry_limit=3 in the test connection


@pytest.mark.parametrize(("kind", "kwargs", "code"), [
    ("error", {"http_status": 403, "code": "Forbidden.Access", "message": "Not authorized."}, "Forbidden.Access"),
    ("throttle", {"code": "Throttling.Api.Risk", "message": "daily quota"}, "Throttling.Api.Risk"),
])  # fmt: skip
def test_permanent_errors_fail_at_once_with_code_and_request_id(
    emulator: DataWorksEmulator, dataworks_conn: str, kind: str, kwargs: dict, code: str
) -> None:
    emulator.inject_fault("GetTask", kind=kind, times=5, **kwargs)
    with pytest.raises(DataWorksApiError) as err:
        DataWorksHook().get_task(RELEASE)
    assert err.value.code == code and err.value.request_id
    assert err.value.request_id in str(err.value) and kwargs["message"] in str(err.value)
    assert len(emulator.calls_of("GetTask")) == 1


def test_bad_signature_fails_fast_without_the_secret_in_the_text(
    emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = json.loads(connection_json(emulator))
    conn["password"] = "definitely-wrong-secret"
    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", json.dumps(conn))
    with pytest.raises(DataWorksApiError) as err:
        DataWorksHook().get_task(RELEASE)
    assert err.value.code == "SignatureDoesNotMatch" and "definitely-wrong-secret" not in str(err.value)


def test_test_connection(emulator: DataWorksEmulator, dataworks_conn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ok, message = DataWorksHook().test_connection()
    assert ok and f"workspace {WORKSPACE}" in message
    assert emulator.calls[-1].action == "GetProject"
    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", connection_json(emulator, project_id=None))
    ok, message = DataWorksHook().test_connection()
    assert ok and emulator.calls[-1].action == "ListProjects" and emulator.calls[-1].params["PageSize"] == "1"
    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", connection_json(emulator, project_id=424242))
    ok, message = DataWorksHook().test_connection()
    assert not ok and "Invalid.Project.NotFound" in message


def test_sts_auth_and_uri_form(emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    sts = emulator.add_sts_credentials()
    from urllib.parse import quote

    uri = (
        f"dataworks://{quote(sts.access_key_id, safe='')}:{quote(sts.access_key_secret, safe='')}@/"
        f"?endpoint={quote(emulator.endpoint, safe='')}&region_id=cn-hangzhou&auth_type=sts"
        f"&security_token={quote(sts.security_token or '', safe='')}&project_id={WORKSPACE}"
    )
    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_STS", uri)
    hook = DataWorksHook("dataworks_sts")
    assert hook.settings.auth_type == "sts" and hook.get_task(RELEASE).id == RELEASE
    assert sts.security_token not in repr(hook.settings)


def test_rate_limit_spaces_calls(emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", connection_json(emulator, qps=5))
    hook = DataWorksHook()
    for _ in range(4):
        hook.get_task(RELEASE)
    times = [c.at for c in emulator.calls]  # frozen emulated clock: use the limiter's own record
    assert len(times) == 4
    limiter = hook_module.limiter_for("dataworks_default", emulator.host_port, 5.0)
    assert limiter.interval == pytest.approx(0.2)


# The mistakes users make most are run end to end (dag.test) in tests/reliability/test_bad_input.py; these are the rest.
@pytest.mark.parametrize(("login", "password", "extras", "field"), [
    ("ak", "sk", {"endpoint": "127.0.0.1:8765"}, "timezone"),
    ("ak", "sk", {"region_id": "cn-hangzhou", "env_type": "prod"}, "env_type"),
    (None, "sk", {"region_id": "cn-hangzhou"}, "Login"),
    ("ak", "sk", {"region_id": "cn-hangzhou", "auth_type": "ram_role_arn"}, "role_arn"),
    (None, None, {"region_id": "cn-hangzhou", "auth_type": "oidc_role_arn", "role_arn": "r"}, "oidc_provider_arn"),
    ("ak", "sk", {"region_id": "cn-hangzhou", "project_id": "abc"}, "project_id"),
    ("ak", "sk", {"region_id": "cn-hangzhou", "read_timeout_ms": "-1"}, "read_timeout_ms"),
])  # fmt: skip
def test_bad_connections_name_the_field(login: str | None, password: str | None, extras: dict, field: str) -> None:
    with pytest.raises(DataWorksConfigError, match=field) as err:
        parse_connection("dw", login, password, extras)
    assert "'dw'" in str(err.value) and (password is None or password not in str(err.value).replace("'sk'", ""))


def test_connection_defaults_from_the_region() -> None:
    s = parse_connection("dw", "ak", "sk", {"region_id": "eu-central-1"})
    assert (s.endpoint, s.protocol, s.timezone, s.env_type) == (
        "dataworks.eu-central-1.aliyuncs.com", "https", "Europe/Berlin", "Prod",
    )  # fmt: skip
    s = parse_connection("dw", "ak", "sk", {"region_id": "eu-central-1", "endpoint": "http://127.0.0.1:9000/"})
    assert (s.endpoint, s.protocol) == ("127.0.0.1:9000", "http")
    assert "sk" not in repr(s)


def test_importing_the_provider_loads_no_sdk() -> None:
    code = (
        "import sys\n"
        "import airflow_provider_dataworks.operators.dataworks, airflow_provider_dataworks.sensors.dataworks\n"
        "import airflow_provider_dataworks.triggers.dataworks, airflow_provider_dataworks.hooks.dataworks\n"
        "import airflow_provider_dataworks.get_provider_info, airflow_provider_dataworks.links.dataworks\n"
        "bad = [m for m in sys.modules if m.startswith(('alibabacloud', 'darabonba', 'Tea'))]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"


def test_retry_after_is_honoured(emulator: DataWorksEmulator, dataworks_conn: str) -> None:
    emulator.clock.unfreeze()
    emulator.inject_fault("GetTask", kind="throttle", times=1, retry_after_ms=400)
    import time

    started = time.monotonic()
    DataWorksHook().get_task(RELEASE)
    waited = time.monotonic() - started
    assert waited >= 0.4  # the back-off alone is at most 0.05 s here
    assert [c.http_status for c in emulator.calls_of("GetTask")] == [429, 200]
    assert timedelta(0) <= emulator.calls[-1].at - emulator.calls[0].at


def test_airflow_discovers_the_provider_and_its_connection_type(airflow_db: object) -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert "airflow-provider-dataworks" in manager.providers
    hook_info = manager.hooks["dataworks"]
    assert hook_info is not None and hook_info.hook_name == "Alibaba Cloud DataWorks"
    assert "airflow_provider_dataworks.links.dataworks.DataWorksInstanceLink" in manager.extra_links_class_names
    fields = manager.providers["airflow-provider-dataworks"].data["connection-types"][0]["conn-fields"]
    assert fields["security_token"]["schema"]["format"] == "password"
