"""End to end on a real Airflow 3 (api-server, dag-processor, scheduler, triggerer; LocalExecutor, SQLite): the asset
watcher of example_dataworks_asset_watcher schedules one DAG run per succeeded instance of node 700001, across a
triggerer killed and started again between two of them. The emulator runs on real time (the demo workspace)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_3_PLUS
from devtools.airflow_stack import AirflowStack, wait_for

pytestmark = pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="asset watchers are Airflow 3's")

EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "example_dataworks_asset_watcher.py"
DAG_ID, NODE = "example_dataworks_asset_watcher", 700001


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowStack]:
    from airflow_provider_dataworks.emulator import DEMO_SPEC

    folder = tmp_path_factory.mktemp("watcher-dags")
    dag = folder / EXAMPLE.name
    dag.write_text(EXAMPLE.read_text().replace("poll_interval=60", "poll_interval=2"))  # 2 s cycles for the test
    settings = {  # a killed triggerer's triggers move to the next one within seconds (default 30 s)
        "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
        "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
    }
    with AirflowStack([dag], DEMO_SPEC, settings=settings) as running:
        running.wait_parsed([DAG_ID])
        yield running


def bizdate_ms(days_back: int) -> int:
    zone = ZoneInfo("Asia/Shanghai")
    today = datetime.now(timezone.utc).astimezone(zone).date()
    day = today - timedelta(days=days_back)
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp() * 1000)


def scheduled_instance(stack: AirflowStack, bizdate: int) -> dict[str, Any]:
    """Node 700001's daily instance of ``bizdate`` (generated once the watcher listed that date)."""

    def found() -> dict[str, Any] | None:
        for inst in stack.control.instances(NODE):
            if int(inst["Bizdate"]) == bizdate and inst.get("WorkflowInstanceType", "Normal") == "Normal":
                return inst
        return None

    return wait_for(found, f"the instance of business date {bizdate}", 120, 1)


def asset_payloads(stack: AirflowStack) -> list[dict[str, Any]]:
    rows = stack.query("SELECT extra FROM asset_event ORDER BY id")
    extras = [json.loads(r[0]) if isinstance(r[0], str) else r[0] for r in rows]
    return [e["payload"] for e in extras if e and e.get("from_trigger")]


def returned(stack: AirflowStack) -> list[Any]:
    rows = stack.query("SELECT value FROM xcom WHERE dag_id = ? AND key = 'return_value' ORDER BY run_id", DAG_ID)
    return [json.loads(r[0]) if isinstance(r[0], str | bytes) else r[0] for r in rows]


def test_one_run_per_succeeded_instance_across_a_triggerer_restart(stack: AirflowStack) -> None:
    today, yesterday = bizdate_ms(1), bizdate_ms(2)  # business dates of the instances scheduled today, yesterday
    # The watcher started: it lists both dates (which generates their instances in the emulator).
    wait_for(lambda: len(stack.control.calls("ListTaskInstances")) >= 2, "the watcher's first listings", 180, 1)
    first, second = scheduled_instance(stack, today), scheduled_instance(stack, yesterday)

    stack.control.set_instance_status(first["Id"], "Success")
    runs = stack.wait_runs_finished(DAG_ID, 1, timeout=180)
    assert [r["run_type"] for r in runs] == ["asset_triggered"]

    stack.kill_component("triggerer")  # a crash
    stack.control.set_instance_status(second["Id"], "Success")  # succeeds while nothing watches
    stack.start_component("triggerer")
    runs = stack.wait_runs_finished(DAG_ID, 2, timeout=240)
    wait_for(lambda: len(stack.control.calls("ListTaskInstances")) >= 2 + 6, "more watcher cycles", 120, 1)
    runs = stack.wait_runs_finished(DAG_ID, 2, timeout=60)

    payloads = asset_payloads(stack)
    assert [p["instance_id"] for p in payloads] == [first["Id"], second["Id"]], payloads
    assert [p["bizdate_ms"] for p in payloads] == [today, yesterday]
    assert len(runs) == 2 and {r["state"] for r in runs} == {"success"}, runs
    consumed = [item for value in returned(stack) for item in value]
    assert sorted(c["instance_id"] for c in consumed) == sorted([first["Id"], second["Id"]])
    # The record of what was reported: the asset's state store on 3.3+, a Variable on 3.0-3.2 (read back at restart:
    # without it the new triggerer would have started afresh and missed the second instance).
    if AIRFLOW_V_3_3_PLUS:
        rows = stack.query("SELECT key, value FROM asset_state_store")
    else:
        rows = stack.query("SELECT key, val FROM variable WHERE key LIKE 'dataworks_watch.%'")
    print(f"the watcher's record: {rows}")
    [(key, value)] = rows
    assert key == "dataworks_watch.dataworks_default.conn.conn.700001.Normal"
    record = json.loads(value) if isinstance(value, str) else value
    assert record["reported"] == {str(today): [first["Id"]], str(yesterday): [second["Id"]]}
    log = (stack.home / "triggerer.log").read_text()
    print("\n".join(line for line in log.splitlines() if "DataWorks watcher" in line or "succeeded" in line))
    assert "resumes from" in log
