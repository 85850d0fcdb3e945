"""RPC signature v1 (HMAC-SHA1) on DataWorks calls: ``aliyun-python-sdk-core``'s CommonRequest does the seed's flow,
and hand-signed v1 requests meet the same rejections as ACS3. Schemes the emulator does not emulate say so.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest

from airflow_provider_dataworks.emulator import DataWorksEmulator
from airflow_provider_dataworks.emulator.api import signature as sig
from tests.conftest import RELEASE, SHANGHAI_0030, WORKSPACE, ms

BIZDATE = ms(datetime(2026, 11, 24, tzinfo=timezone(timedelta(hours=8))))


def acs_client(emu: DataWorksEmulator, secret: str | None = None) -> AcsClient:
    return AcsClient(emu.access_key_id, secret or emu.access_key_secret, "cn-hangzhou", timeout=5, auto_retry=False)


def common(emu: DataWorksEmulator, action: str, method: str = "POST", **fields: object) -> CommonRequest:
    return common_request(emu.host_port, action, method, **fields)


def common_request(host_port: str, action: str, method: str = "POST", **fields: object) -> CommonRequest:
    """A DataWorks (2024-05-18) RPC call over plain HTTP; POST fields in the form body, GET ones in the query."""
    request = CommonRequest(domain=host_port, version="2024-05-18", action_name=action)
    request.set_protocol_type("http")
    request.set_method(method)
    request.set_accept_format("json")
    for name, value in fields.items():
        if method == "POST":
            request.add_body_params(name, str(value))
        else:
            request.add_query_param(name, str(value))
    return request


def test_seed_flow_through_aliyun_python_sdk_core(emulator: DataWorksEmulator) -> None:
    client = acs_client(emulator)
    listed = json.loads(client.do_action_with_exception(
        common(emulator, "ListTaskInstances", ProjectId=WORKSPACE, Bizdate=BIZDATE, TaskId=RELEASE)
    ))  # fmt: skip
    (inst,) = listed["PagingInfo"]["TaskInstances"]
    assert inst["Status"] == "WaitTrigger"
    trigger = common(emulator, "TriggerSchedulerTaskInstance", TaskId=RELEASE, TriggerTime=inst["TriggerTime"])
    trigger.add_query_param("EnvType", "Prod")
    assert json.loads(client.do_action_with_exception(trigger))["Success"] is True
    assert emulator.instance_of(RELEASE, SHANGHAI_0030).status.value == "Success"
    got = json.loads(client.do_action_with_exception(common(emulator, "GetTaskInstance", "GET", Id=inst["Id"])))
    assert got["TaskInstance"]["Status"] == "Success"
    assert [(c.action, c.http_status) for c in emulator.calls] == [
        ("ListTaskInstances", 200), ("TriggerSchedulerTaskInstance", 200), ("GetTaskInstance", 200)
    ]  # fmt: skip
    assert all(c.params["Signature"] == "<redacted>" for c in emulator.calls)


def test_aliyun_python_sdk_core_with_a_wrong_secret(emulator: DataWorksEmulator) -> None:
    with pytest.raises(ServerException) as err:
        acs_client(emulator, "not-the-secret").do_action_with_exception(common(emulator, "GetTask", "GET", Id=RELEASE))
    assert (err.value.get_http_status(), err.value.get_error_code()) == (400, "SignatureDoesNotMatch")


def v1_call(
    emu: DataWorksEmulator,
    *,
    secret: str | None = None,
    ak: str | None = None,
    timestamp: str | None = None,
    nonce: str | None = None,
    token: str | None = None,
    method_name: str = "HMAC-SHA1",
    tamper: dict[str, str] | None = None,
) -> tuple[int, dict]:
    """A hand-signed v1 GET of GetTask (every field in the query)."""
    params = {
        "Action": "GetTask", "Version": "2024-05-18", "Format": "JSON", "Id": str(RELEASE),
        "AccessKeyId": ak or emu.access_key_id, "SignatureMethod": method_name, "SignatureVersion": "1.0",
        "SignatureNonce": nonce or uuid.uuid4().hex,
        "Timestamp": timestamp or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }  # fmt: skip
    if token is not None:
        params["SecurityToken"] = token
    params["Signature"] = sig.v1_sign(secret or emu.access_key_secret, sig.v1_string_to_sign("GET", params))
    params |= tamper or {}
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{emu.endpoint}/?{urlencode(params)}", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_v1_rejections_match_acs3s(emulator: DataWorksEmulator) -> None:
    assert v1_call(emulator)[0] == 200
    assert v1_call(emulator, secret="wrong")[1]["Code"] == "SignatureDoesNotMatch"
    assert v1_call(emulator, tamper={"Id": "1"})[1]["Code"] == "SignatureDoesNotMatch"
    assert v1_call(emulator, ak="LTAI-nobody")[:1] == (404,)
    assert v1_call(emulator, ak="LTAI-nobody")[1]["Code"] == "InvalidAccessKeyId.NotFound"
    old = (datetime.now(timezone.utc) - timedelta(minutes=16)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert v1_call(emulator, timestamp=old)[1]["Code"] == "InvalidTimeStamp.Expired"
    nonce = uuid.uuid4().hex
    assert v1_call(emulator, nonce=nonce)[0] == 200
    assert v1_call(emulator, nonce=nonce)[1]["Code"] == "SignatureNonceUsed"
    sts = emulator.add_sts_credentials()
    as_sts = {"ak": sts.access_key_id, "secret": sts.access_key_secret}
    assert v1_call(emulator, **as_sts, token=sts.security_token)[0] == 200
    assert v1_call(emulator, **as_sts)[1]["Code"] == "InvalidSecurityToken.Malformed"
    assert v1_call(emulator, **as_sts, token="not-it")[1]["Code"] == "InvalidSecurityToken.MismatchWithAccessKey"
    log = repr(emulator.calls)
    assert emulator.access_key_secret not in log and str(sts.security_token) not in log


def test_what_the_emulator_does_not_emulate_is_refused_saying_so(emulator: DataWorksEmulator) -> None:
    status, body = v1_call(emulator, method_name="HMAC-SHA256")
    assert (status, body["Code"]) == (400, "Emulator.NotEmulated")
    assert "does not emulate" in body["Message"] and "HMAC-SHA256" in body["Message"]
    request = urllib.request.Request(
        f"{emulator.endpoint}/?Id={RELEASE}",
        headers={"x-acs-action": "GetTask", "x-acs-version": "2024-05-18",
                 "Authorization": "ACS3-RSA-SHA256 Credential=x,SignedHeaders=host,Signature=00"},
    )  # fmt: skip
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with pytest.raises(urllib.error.HTTPError) as err:
        opener.open(request, timeout=5)
    answer = json.loads(err.value.read())
    assert answer["Code"] == "Emulator.NotEmulated" and "ACS3-RSA-SHA256" in answer["Message"]
