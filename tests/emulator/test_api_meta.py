"""The emulator against Alibaba's official API metadata for the 14 operations we use (the checked-in slice
``tests/api_meta/dataworks-public-2024-05-18.json``; its ``_comment`` and ``sources`` say where it comes from).

Requests are hand-signed ACS3 calls over loopback HTTP, each parameter at its official position (Query / Body) with
its official type; answers are the raw JSON bodies, walked field by field against the official response schema
(names, nesting, JSON types, enums). Drift between the emulator and the metadata fails here.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from airflow_provider_dataworks.emulator import DataWorksEmulator
from airflow_provider_dataworks.emulator.api.handlers import OPERATIONS
from tests.conftest import LOAD_A, LOAD_B, RELEASE, SHANGHAI_0030, UPSTREAM, WORKSPACE, ms
from tests.emulator.test_emulator_wire import signed_headers

META = json.loads((Path(__file__).resolve().parents[1] / "api_meta" / "dataworks-public-2024-05-18.json").read_text())
OPS: dict[str, Any] = META["operations"]
BIZDATE = ms(datetime(2026, 11, 24, tzinfo=timezone(timedelta(hours=8))))
WEEKLY, DEV_TASK, OTHER_FLOW = 700010, 700011, 700012
#: official type -> the emulator's parameter kinds that parse it
KINDS = {"Long": {"int"}, "Integer": {"int"}, "String": {"str"}, "Boolean": {"bool"},
         "Json": {"int_list", "str_list", "json"}}  # fmt: skip


def call(emu: DataWorksEmulator, action: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """One signed request; each parameter where the metadata puts it (lists JSON-encoded, booleans True/False)."""
    where = {p["name"]: p["position"] for p in OPS[action]["parameters"]}
    method = OPS[action]["method"]

    def text(value: Any) -> str:
        return json.dumps(value) if isinstance(value, (list, dict)) else str(value)

    query = sorted((k, text(v)) for k, v in params.items() if where.get(k, "Query") == "Query")
    body = urlencode([(k, text(v)) for k, v in params.items() if where.get(k) == "Body"]).encode()
    target = "/?" + urlencode(query) if query else "/"
    headers = signed_headers(emu, method, action, query, body)
    request = urllib.request.Request(emu.endpoint + target, data=body if method == "POST" else None, method=method)
    for name, value in headers.items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture
def emu(emulator: DataWorksEmulator) -> DataWorksEmulator:
    """conftest's workspace plus a weekly node, a Dev task, a task of another workflow, runs besides the scheduled
    ones, a released trigger and a rerun: every kind of field and value the emulator sends."""
    emulator.add_task(WORKSPACE, WEEKLY, "weekly_report", cron="0 1 * * 1", owner="9999", resource_group="rg_weekly")
    emulator.add_task(WORKSPACE, DEV_TASK, "dev_load", cron="30 0 * * *", env_type="Dev")
    flow = emulator.backend.add_workflow(WORKSPACE, "other_flow")
    emulator.add_task(WORKSPACE, OTHER_FLOW, "other_flow_task", cron="30 0 * * *", workflow_id=flow.id)
    emulator.add_instance_run(LOAD_A, SHANGHAI_0030, "SupplementData", status="Success")
    emulator.add_instance_run(LOAD_B, SHANGHAI_0030, "ManualWorkflow")
    emulator.add_instance_run(UPSTREAM, SHANGHAI_0030 - timedelta(minutes=30), "ManualFlow", status="Success")
    emulator.backend.trigger(RELEASE, ms(SHANGHAI_0030), "Prod")
    emulator.clock.advance(timedelta(minutes=10))
    emulator.backend.rerun([emulator.instance_of(LOAD_B, SHANGHAI_0030).id], use_latest_config=True)
    return emulator


def sample_values(emu: DataWorksEmulator) -> dict[str, dict[str, Any]]:
    """For each operation, a value of the official type for every official parameter (naming what exists)."""
    release = emu.instance_of(RELEASE, SHANGHAI_0030)
    load_a = emu.instance_of(LOAD_A, SHANGHAI_0030)
    batch = {"Ids": [load_a.id], "Comment": "api meta"}
    return {
        "TriggerSchedulerTaskInstance": {"EnvType": "Prod", "TaskId": RELEASE, "TriggerTime": ms(SHANGHAI_0030)},
        "GetTaskInstance": {"Id": release.id},
        "ListTaskInstances": {
            "Bizdate": BIZDATE,
            "ProjectId": WORKSPACE,
            "Filter": json.dumps({"createTimeStart": 0}),
            "Id": release.id,
            "Ids": [release.id],
            "Owner": emu.backend.workspaces[WORKSPACE].owner,
            "PageNumber": 1,
            "PageSize": 10,
            "ProjectEnv": "Prod",
            "RuntimeResource": f"Serverless_res_group_{WORKSPACE}",
            "SortBy": "TriggerTime Asc",
            "Status": "Success",
            "TaskId": RELEASE,
            "TaskIds": [RELEASE],
            "TaskName": "rel",
            "TaskType": "SCHEDULER_TRIGGER",
            "TriggerRecurrence": "Normal",
            "TriggerType": "Scheduler",
            "UnifiedWorkflowInstanceId": release.workflow_instance_id,
            "WorkflowId": emu.backend.tasks[RELEASE].workflow_id,
            "WorkflowInstanceId": release.workflow_instance_id,
            "WorkflowInstanceType": "Normal",
        },
        "ListDownstreamTaskInstances": {"Id": release.id, "PageNumber": 1, "PageSize": 10},
        "GetWorkflowInstance": {"Id": release.workflow_instance_id},
        "GetTask": {"Id": RELEASE, "ProjectEnv": "Prod"},
        "GetProject": {"Id": WORKSPACE},
        "ListProjects": {
            "AliyunResourceGroupId": "rg-emulator",
            "AliyunResourceTags": [],
            "DevEnvironmentEnabled": False,
            "DevRoleDisabled": True,
            "Ids": [WORKSPACE],
            "Names": ["ws"],
            "PageNumber": 1,
            "PageSize": 10,
            "PaiTaskEnabled": False,
            "Status": "Available",
        },
        "StopTaskInstances": batch,
        "StopWorkflowInstances": {"Ids": [load_a.workflow_instance_id], "Comment": "api meta"},
        "RerunTaskInstances": {**batch, "UseLatestConfig": True},
        "SetSuccessTaskInstances": batch,
        "SuspendTaskInstances": batch,
        "ResumeTaskInstances": batch,
    }


# ---------------------------------------------------------------------------------------------- requests
def test_the_metadata_slice_keeps_its_source_note() -> None:
    assert "aliyun/aliyun-openapi-meta" in META["_comment"] and META["sources"]["request_parameters"]["commit"]
    assert len(OPS) == 14 and set(OPS) == set(OPERATIONS)


@pytest.mark.parametrize("action", sorted(OPS))
def test_declared_parameters_are_the_official_ones(action: str) -> None:
    """Same names, positions, types and required-ness as the metadata: nothing required that it says optional."""
    official = {p["name"]: p for p in OPS[action]["parameters"]}
    declared = OPERATIONS[action].params
    assert set(declared) == set(official)
    for name, param in declared.items():
        assert param.position == official[name]["position"], name
        assert param.kind in KINDS[official[name]["type"]], name
        assert param.required is official[name]["required"], name
    assert OPERATIONS[action].method == OPS[action]["method"]


@pytest.mark.parametrize("action", sorted(OPS))
def test_every_official_parameter_is_accepted_at_its_position(emu: DataWorksEmulator, action: str) -> None:
    params = sample_values(emu)[action]
    assert set(params) == {p["name"] for p in OPS[action]["parameters"]}
    status, body = call(emu, action, params)
    assert status == 200, body
    sent = emu.calls_of(action)[-1].params
    assert set(sent) >= set(params)


@pytest.mark.parametrize(
    ("action", "name"),
    [(a, p["name"]) for a, op in sorted(OPS.items()) for p in op["parameters"] if p["required"]],
)
def test_each_required_parameter_is_refused_when_missing(emu: DataWorksEmulator, action: str, name: str) -> None:
    error = META["errors"]["missing_required_parameter"]
    params = {k: v for k, v in sample_values(emu)[action].items() if k != name}
    status, body = call(emu, action, params)
    assert (status, body["Code"]) == (error["http_status"], f"Missing{name}")
    assert body["Message"] == error["message"].replace("<Parameter>", name)


@pytest.mark.parametrize(
    ("action", "name"),
    [(a, p["name"]) for a, op in sorted(OPS.items()) for p in op["parameters"] if not p["required"]],
)
def test_each_optional_parameter_may_be_left_out(emu: DataWorksEmulator, action: str, name: str) -> None:
    params = {k: v for k, v in sample_values(emu)[action].items() if k != name}
    status, body = call(emu, action, params)
    assert status == 200, body


def test_trigger_without_env_type_names_the_prod_instance(emu: DataWorksEmulator) -> None:
    status, body = call(emu, "TriggerSchedulerTaskInstance", {"TaskId": RELEASE, "TriggerTime": ms(SHANGHAI_0030)})
    assert (status, body["Success"]) == (200, True)


@pytest.mark.parametrize(("action", "limit"), [(a, v["max"]) for a, v in sorted(META["page_size_max"].items())])
def test_official_page_size_maxima(emu: DataWorksEmulator, action: str, limit: int) -> None:
    base = {k: v for k, v in sample_values(emu)[action].items() if k not in ("Id", "Ids", "Filter", "Status")}
    base = {k: v for k, v in base.items() if k in ("Bizdate", "ProjectId", "PageNumber")}
    assert call(emu, action, {**base, "PageSize": limit})[0] == 200
    status, body = call(emu, action, {**base, "PageSize": limit + 1})
    assert (status, body["Code"]) == (400, "Invalid.Param") and "PageSize" in body["Message"]


# ---------------------------------------------------------------------------------------------- responses
def walk(value: Any, schema: dict[str, Any], path: str, enums_seen: dict[str, set[Any]]) -> None:
    """Fail unless ``value`` has the schema's JSON type and nesting, every key is an official field and every
    value of an enum field is official."""
    kind = schema["type"]
    if kind in ("object", "map"):
        assert isinstance(value, dict), f"{path}: {value!r} is not an object"
        for key, item in value.items():
            if kind == "map":
                walk(item, schema["values"], f"{path}{{{key}}}", enums_seen)
                continue
            assert key in schema.get("properties", {}), f"{path}.{key} is not in the official schema"
            walk(item, schema["properties"][key], f"{path}.{key}", enums_seen)
    elif kind == "array":
        assert isinstance(value, list), f"{path}: {value!r} is not an array"
        for item in value:
            walk(item, schema["items"], f"{path}[]", enums_seen)
    else:
        python: dict[str, type | tuple[type, ...]] = {"integer": int, "string": str, "boolean": bool,
                                                       "number": (int, float)}  # fmt: skip
        assert isinstance(value, python[kind]) and (kind == "boolean" or not isinstance(value, bool)), (
            f"{path}: {value!r} is not {kind}"
        )
        if "enum" in schema:
            assert value in schema["enum"], f"{path}: {value!r} is not one of {schema['enum']}"
            enums_seen.setdefault(path, set()).add(value)


def answers(emu: DataWorksEmulator) -> Iterator[tuple[str, dict[str, Any]]]:
    """Raw answers of every operation, over instances in many states and of many kinds."""
    samples = sample_values(emu)
    instances = [i for i in emu.backend.instances.values() if ms(i.bizdate) == BIZDATE]
    for inst in instances:
        yield "GetTaskInstance", call(emu, "GetTaskInstance", {"Id": inst.id})[1]
        yield "ListDownstreamTaskInstances", call(emu, "ListDownstreamTaskInstances", {"Id": inst.id})[1]
        yield "GetWorkflowInstance", call(emu, "GetWorkflowInstance", {"Id": inst.workflow_instance_id})[1]
        yield (
            "ListTaskInstances",
            call(emu, "ListTaskInstances", {"ProjectId": WORKSPACE, "Bizdate": BIZDATE, "Id": inst.id})[1],
        )
    yield "ListTaskInstances", call(emu, "ListTaskInstances", {"ProjectId": WORKSPACE, "Bizdate": BIZDATE,
                                                              "PageSize": 100})[1]  # fmt: skip
    for task_id in (RELEASE, LOAD_A, WEEKLY, DEV_TASK):
        env = "Dev" if task_id == DEV_TASK else "Prod"
        yield "GetTask", call(emu, "GetTask", {"Id": task_id, "ProjectEnv": env})[1]
    for action in ("GetProject", "ListProjects", "TriggerSchedulerTaskInstance", *[a for a in OPS if "Instances" in a
                   and a not in ("ListTaskInstances", "ListDownstreamTaskInstances")]):  # fmt: skip
        yield action, call(emu, action, samples[action])[1]


def test_every_answer_field_is_official_with_its_type_nesting_and_enum(emu: DataWorksEmulator) -> None:
    seen: dict[str, set[Any]] = {}
    count = 0
    for action, body in answers(emu):
        assert "Code" not in body, (action, body)
        walk(body, OPS[action]["response"], action, seen)
        count += 1
    assert count > 40
    statuses = seen["ListTaskInstances.PagingInfo.TaskInstances[].Status"]
    assert {"Success", "Running", "WaitTime"} <= statuses | seen.get("GetTaskInstance.TaskInstance.Status",
                                                                                set())  # fmt: skip
    kinds = seen["ListTaskInstances.PagingInfo.TaskInstances[].WorkflowInstanceType"]
    assert kinds == {"Normal", "SupplementData", "ManualWorkflow", "ManualFlow"}
    assert seen["GetWorkflowInstance.WorkflowInstance.Type"] == {"Normal", "SupplementData", "ManualWorkflow"}
    assert seen["ListTaskInstances.PagingInfo.TaskInstances[].TriggerRecurrence"] >= {"Normal", "SkipCycle", "Manual"}


def test_no_null_and_the_official_spellings(emu: DataWorksEmulator) -> None:
    """Unset fields are left out; GetTask's UpstreamTaskId is a string and its cron a 6-field Quartz one."""
    waiting = emu.instance_of(WEEKLY, SHANGHAI_0030 + timedelta(minutes=30))  # 01:00, not reached
    _, body = call(emu, "GetTaskInstance", {"Id": waiting.id})
    assert body["TaskInstance"]["Status"] == "WaitTime"
    assert "StartedTime" not in body["TaskInstance"] and None not in body["TaskInstance"].values()
    assert "EnvType" not in body["TaskInstance"] and body["TaskInstance"]["ProjectEnv"] == "Prod"
    task = call(emu, "GetTask", {"Id": RELEASE})[1]["Task"]
    assert task["Dependencies"] == [{"Type": "Normal", "UpstreamTaskId": str(UPSTREAM)}]
    assert task["Trigger"]["Cron"] == "00 30 00 * * ?"
    assert call(emu, "GetTask", {"Id": WEEKLY})[1]["Task"]["Trigger"]["Cron"] == "00 00 01 ? * 2"
    nested = call(emu, "ListDownstreamTaskInstances", {"Id": emu.instance_of(RELEASE, SHANGHAI_0030).id})[1]
    (first, *_) = nested["PagingInfo"]["DownstreamTaskInstances"]
    assert "EnvType" in first["TaskInstance"]
    assert not {"ProjectEnv", "UnifiedWorkflowInstanceId", "WaitingTriggerTime", "WaitingResourceTime"} & set(
        first["TaskInstance"]
    )


# ---------------------------------------------------------------------------------------------- filters
def listed(emu: DataWorksEmulator, **filters: Any) -> list[dict[str, Any]]:
    status, body = call(emu, "ListTaskInstances", {"ProjectId": WORKSPACE, "Bizdate": BIZDATE, "PageSize": 500,
                                                   **filters})  # fmt: skip
    assert status == 200, body
    return body["PagingInfo"]["TaskInstances"]


def filter_cases(emu: DataWorksEmulator) -> dict[str, tuple[Any, Any]]:
    """Official filter -> (a value that keeps some instances but not all, what each kept record must satisfy)."""
    release = emu.instance_of(RELEASE, SHANGHAI_0030)
    backfill = next(i for i in emu.instances_of(LOAD_A) if i.workflow_instance_type == "SupplementData")
    started = ms(SHANGHAI_0030 + timedelta(minutes=5))
    return {
        "TaskId": (RELEASE, lambda r: r["TaskId"] == RELEASE),
        "TaskIds": ([RELEASE, LOAD_A], lambda r: r["TaskId"] in (RELEASE, LOAD_A)),
        "Id": (release.id, lambda r: r["Id"] == release.id),
        "Ids": ([release.id, backfill.id], lambda r: r["Id"] in (release.id, backfill.id)),
        "WorkflowInstanceId": (backfill.workflow_instance_id, lambda r: r["Id"] == backfill.id),
        "UnifiedWorkflowInstanceId": (backfill.workflow_instance_id, lambda r: r["Id"] == backfill.id),
        "Status": ("Success", lambda r: r["Status"] == "Success"),
        "ProjectEnv": ("Dev", lambda r: r["TaskId"] == DEV_TASK),
        "TaskName": ("LOAD", lambda r: "load" in r["TaskName"]),
        "Owner": ("9999", lambda r: r["TaskId"] == WEEKLY),
        "TaskType": ("SCHEDULER_TRIGGER", lambda r: r["TaskId"] == RELEASE),
        "WorkflowId": (emu.backend.tasks[OTHER_FLOW].workflow_id, lambda r: r["TaskId"] == OTHER_FLOW),
        "TriggerType": ("Manual", lambda r: r["WorkflowInstanceType"] in ("ManualWorkflow", "ManualFlow")),
        "TriggerRecurrence": ("SkipCycle", lambda r: r["TaskId"] == WEEKLY),
        "WorkflowInstanceType": ("SupplementData", lambda r: r["Id"] == backfill.id),
        "RuntimeResource": ("rg_weekly", lambda r: r["TaskId"] == WEEKLY),
        "Filter": (json.dumps({"startedTimeStart": started}), lambda r: r.get("StartedTime", 0) >= started),
    }


def test_every_official_list_filter_narrows_the_result(emu: DataWorksEmulator) -> None:
    everything = listed(emu)
    cases = filter_cases(emu)
    official = {p["name"] for p in OPS["ListTaskInstances"]["parameters"]}
    assert set(cases) == official - {"ProjectId", "Bizdate", "PageNumber", "PageSize", "SortBy"}
    for name, (value, holds) in cases.items():
        kept = listed(emu, **{name: value})
        assert kept and all(holds(r) for r in kept), (name, kept)
        if name != "Id":  # Id lists the instance's history: here two runs of one instance
            assert len(kept) < len(everything), name
        assert [r for r in everything if holds(r)] == kept or name == "Id", name


def test_values_outside_the_official_enums_are_refused(emu: DataWorksEmulator) -> None:
    for name in ("Status", "TriggerRecurrence", "TriggerType", "WorkflowInstanceType", "ProjectEnv"):
        status, body = call(emu, "ListTaskInstances", {"ProjectId": WORKSPACE, "Bizdate": BIZDATE, name: "Bogus"})
        assert (status, body["Code"]) == (400, "Invalid.Param") and name in body["Message"]
