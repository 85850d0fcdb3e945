"""Role credentials end to end: ``ram_role_arn`` and ``oidc_role_arn`` connections against the emulated STS.

The official credentials client calls the emulator's STS (``AssumeRole`` signed with the AccessKey,
``AssumeRoleWithOIDC`` with the token file's content) over loopback HTTP, then the DataWorks SDK signs its
calls with the temporary key STS handed out. Refusals fail at once with STS' code and what to do.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dataworks.emulator import DataWorksEmulator
from airflow_provider_dataworks.emulator.api.signature import v1_sign
from airflow_provider_dataworks.emulator.api.sts import rpc_string_to_sign
from airflow_provider_dataworks.exceptions import DataWorksApiError, DataWorksConfigError
from airflow_provider_dataworks.hooks import credentials as credentials_module
from airflow_provider_dataworks.hooks import dataworks as hook_module
from airflow_provider_dataworks.hooks.dataworks import DataWorksHook
from tests.conftest import RELEASE, WORKSPACE

pytestmark = pytest.mark.oldest_sdk

OTHER_ROLE = "acs:ram::1234567890123456:role/someone-else"
OIDC_PROVIDER = "acs:ram::1234567890123456:oidc-provider/ack-rrsa"


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hook_module, "RETRY_WAIT_MIN_S", 0.01)
    monkeypatch.setattr(hook_module, "RETRY_WAIT_MAX_S", 0.05)


@pytest.fixture
def role(emulator: DataWorksEmulator) -> str:
    return emulator.add_role()


@pytest.fixture
def token_file(emulator: DataWorksEmulator, tmp_path: Path) -> Path:
    provider = emulator.add_oidc_provider(OIDC_PROVIDER)
    path = tmp_path / "oidc-token"
    path.write_text(provider.token)
    return path


def use_connection(monkeypatch: pytest.MonkeyPatch, emu: DataWorksEmulator, auth: dict[str, Any]) -> DataWorksHook:
    """``dataworks_default`` with ``auth`` extras; STS and DataWorks both played by ``emu``."""
    keys = {"login": emu.access_key_id, "password": emu.access_key_secret} if "oidc" not in auth["auth_type"] else {}
    extra = {"endpoint": emu.endpoint, "sts_endpoint": emu.endpoint, "region_id": "cn-hangzhou",
             "project_id": WORKSPACE, **auth}  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", json.dumps({"conn_type": "dataworks", **keys, "extra": extra}))
    return DataWorksHook()


def ram_role(role_arn: str) -> dict[str, Any]:
    return {"auth_type": "ram_role_arn", "role_arn": role_arn}


def oidc_role(role_arn: str, token_file: Path) -> dict[str, Any]:
    return {"auth_type": "oidc_role_arn", "role_arn": role_arn, "oidc_provider_arn": OIDC_PROVIDER,
            "oidc_token_file": str(token_file)}  # fmt: skip


def get_task(hook: DataWorksHook, path: str) -> int:
    task = hook.get_task(RELEASE) if path == "sync" else asyncio.run(hook.aget_task(RELEASE))
    return task.id


def test_signature_v1_is_the_one_the_credentials_client_computes() -> None:
    from alibabacloud_credentials.utils import parameter_helper

    params = {"Action": "AssumeRole", "RoleArn": "acs:ram::1:role/a b", "RoleSessionName": "s~*'()+&=/",
              "Timestamp": "2026-11-25T00:00:00Z", "AccessKeyId": "LTAI5t", "Signature": "left out"}  # fmt: skip
    unsigned = {k: v for k, v in params.items() if k != "Signature"}
    assert rpc_string_to_sign("GET", params) == parameter_helper.compose_string_to_sign("GET", unsigned)
    secret = secrets.token_urlsafe(24)
    expected = parameter_helper.sign_string(rpc_string_to_sign("GET", params), secret + "&")
    assert v1_sign(secret, rpc_string_to_sign("GET", params)) == expected


@pytest.mark.parametrize("path", ["sync", "async"])
@pytest.mark.parametrize("kind", ["ram_role_arn", "oidc_role_arn"])
def test_a_role_is_assumed_once_and_its_temporary_key_signs_the_calls(
    emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch, role: str, token_file: Path, kind: str, path: str
) -> None:
    auth = ram_role(role) if kind == "ram_role_arn" else oidc_role(role, token_file)
    hook = use_connection(monkeypatch, emulator, auth)
    assert [get_task(hook, path) for _ in range(3)] == [RELEASE] * 3

    sts_action = "AssumeRole" if kind == "ram_role_arn" else "AssumeRoleWithOIDC"
    assert [c.action for c in emulator.calls] == [sts_action, "GetTask", "GetTask", "GetTask"]  # then cached
    (issued,) = emulator.sts.issued
    assert issued.role_arn == role and issued.session_name == "airflow-provider-dataworks"
    assert {c.access_key_id for c in emulator.calls_of("GetTask")} == {issued.access_key_id}
    if kind == "ram_role_arn":
        assert emulator.calls[0].access_key_id == emulator.access_key_id


def test_hooks_of_one_connection_share_the_temporary_key(
    emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch, role: str
) -> None:
    """A triggerer's waits each have a hook: they must not each assume the role."""
    hooks = [use_connection(monkeypatch, emulator, ram_role(role)) for _ in range(20)]

    async def all_read() -> list[int]:
        return [t.id for t in await asyncio.gather(*(hook.aget_task(RELEASE) for hook in hooks))]

    assert asyncio.run(all_read()) == [RELEASE] * 20
    assert get_task(use_connection(monkeypatch, emulator, ram_role(role)), "sync") == RELEASE
    assert len(emulator.calls_of("AssumeRole")) == 1 and len(emulator.sts.issued) == 1
    signers = {c.access_key_id for c in emulator.calls if c.action == "GetTask"}
    assert signers == {emulator.sts.issued[0].access_key_id}  # the one temporary key signed all 21 hooks' calls


@pytest.mark.parametrize(
    ("case", "code", "advice"),
    [
        ("role that does not exist", "EntityNotExist.Role", "check extra 'role_arn'"),
        ("role that does not trust the AccessKey", "NoPermission", "grant it sts:AssumeRole"),
        ("token STS does not accept", "AuthenticationFail.OIDCToken", "extra 'oidc_token_file' was refused"),
        ("OIDC provider not in RAM", "AuthenticationFail.NoPermission", "check extra 'oidc_provider_arn'"),
    ],
)
@pytest.mark.parametrize("path", ["sync", "async"])
def test_sts_refusals_fail_at_once_with_what_to_do(
    emulator: DataWorksEmulator,
    monkeypatch: pytest.MonkeyPatch,
    role: str,
    token_file: Path,
    case: str,
    code: str,
    advice: str,
    path: str,
) -> None:
    if case == "role that does not exist":
        auth = ram_role("acs:ram::1234567890123456:role/missing")
    elif case == "role that does not trust the AccessKey":
        auth = ram_role(emulator.add_role(OTHER_ROLE, trusted_access_key_ids={"LTAI5tSomeoneElse"}))
    elif case == "token STS does not accept":
        token_file.write_text("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
        auth = oidc_role(role, token_file)
    else:
        auth = {**oidc_role(role, token_file), "oidc_provider_arn": "acs:ram::1:oidc-provider/none"}
    hook = use_connection(monkeypatch, emulator, auth)

    with pytest.raises(DataWorksApiError) as err:
        get_task(hook, path)

    text = str(err.value)
    assert text.startswith(f"STS {emulator.calls[0].action} failed: HTTP ")
    assert code in text and "What to do: " in text and advice in text and "RequestId" in text, text
    assert len(emulator.calls) == 1 and not emulator.calls_of("GetTask")  # no retry, no DataWorks call
    assert emulator.access_key_secret not in text and token_file.read_text() not in text


def test_an_sts_server_error_is_retried(
    emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch, role: str
) -> None:
    emulator.inject_fault("AssumeRole", "server_error", times=1)
    hook = use_connection(monkeypatch, emulator, ram_role(role))
    assert get_task(hook, "sync") == RELEASE
    assert [(c.action, c.http_status) for c in emulator.calls] == [
        ("AssumeRole", 500), ("AssumeRole", 200), ("GetTask", 200),
    ]  # fmt: skip


def test_an_unreadable_token_file_is_a_configuration_error_without_a_call(
    emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch, role: str, token_file: Path
) -> None:
    hook = use_connection(monkeypatch, emulator, {**oidc_role(role, token_file), "oidc_token_file": "/no"})
    with pytest.raises(DataWorksConfigError, match="extra 'oidc_token_file'='/no' cannot be read"):
        hook.get_task(RELEASE)
    assert emulator.calls == []


def test_a_malformed_sts_endpoint_is_named(emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    hook = use_connection(monkeypatch, emulator, {**ram_role("r"), "sts_endpoint": "sts.aliyuncs.com/path"})
    with pytest.raises(DataWorksConfigError, match=re.escape("extra 'sts_endpoint'='sts.aliyuncs.com/path' is not")):
        hook.get_task(RELEASE)


def test_the_call_log_keeps_no_token(
    emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch, role: str, token_file: Path
) -> None:
    get_task(use_connection(monkeypatch, emulator, oidc_role(role, token_file)), "sync")
    (issued,) = emulator.sts.issued
    temporary = emulator.credential(issued.access_key_id)
    assert temporary is not None and temporary.security_token is not None
    log = json.dumps([c.to_dict() for c in emulator.calls])
    assert emulator.calls[0].params["OIDCToken"] == "<redacted>"
    for secret in (token_file.read_text(), temporary.access_key_secret, temporary.security_token):
        assert secret not in log


def test_temporary_keys_are_masked_and_the_sdks_header_dumps_dropped(
    emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch, role: str, caplog: pytest.LogCaptureFixture
) -> None:
    from airflow.providers.common.compat.sdk import redact

    monkeypatch.setenv("DEBUG", "sdk")  # the SDK's switch: log every request's headers and query
    caplog.set_level(logging.DEBUG)
    hook = use_connection(monkeypatch, emulator, ram_role(role))
    get_task(hook, "sync")
    get_task(hook, "async")
    dumps = [r for r in caplog.records if r.name in credentials_module.SDK_HTTP_LOGGERS]
    assert dumps == []
    (issued,) = emulator.sts.issued
    temporary = emulator.credential(issued.access_key_id)
    assert temporary is not None and temporary.security_token is not None
    assert redact(temporary.access_key_secret) == "***" and redact(temporary.security_token) == "***"
    assert redact(secrets.token_urlsafe(24)) != "***"  # the masker does not mask just anything

    # The filter is what stops them: without it the SDK dumps the headers, signature and token included.
    for name in credentials_module.SDK_HTTP_LOGGERS:
        monkeypatch.setattr(logging.getLogger(name), "filters", [])
    caplog.clear()
    hook.get_task(RELEASE)
    assert any("x-acs-security-token" in r.getMessage() for r in caplog.records), "the SDK dumped nothing"


def test_sts_queries_are_logged_without_their_token_or_signature(
    emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch, role: str, token_file: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    get_task(use_connection(monkeypatch, emulator, oidc_role(role, token_file)), "sync")
    get_task(use_connection(monkeypatch, emulator, ram_role(role)), "sync")
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.name == "urllib3.connectionpool" and "Action=Assume" in r.getMessage()
    ]
    assert len(lines) == 2, "urllib3 logged no STS request"
    assert "OIDCToken=<redacted>" in lines[0] and "Signature=<redacted>" in lines[1]
    assert not any(token_file.read_text() in line for line in lines)
