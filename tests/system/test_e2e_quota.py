"""End to end on a real Airflow 3 (SQLite, LocalExecutor): a backfill that meets DataWorks' daily quota mid-way
defers its refused tasks to the quota's reset and finishes after it, each instance released once, no task failed.

The emulator runs on real time, so its quota reset and the connection's ``daily_quota_reset`` are one instant:
two minutes after the quota is set (a loaded 2-core CI took ~60 s from there to the first refusal). 6 runs at 2
calls each (ListTaskInstances, TriggerSchedulerTaskInstance) against a quota of 8 a day.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_0_PLUS
from devtools.airflow_stack import AirflowStack, wait_for

pytestmark = pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="the stack is Airflow 3's (api-server, dag-processor)")

DAG_ID, CONN_ID = "e2e_quota", "dataworks_quota"
DAG_FILE = Path(__file__).resolve().parents[1] / "dags" / f"{DAG_ID}.py"
DAILY_QUOTA = 8
#: Seconds from setting the quota to its reset: the backfill's first calls meet the quota before it.
RESET_AHEAD_S = 120
TRIGGER = "TriggerSchedulerTaskInstance"


def fire_time(day: int) -> int:
    """TriggerTime of the 00:30 Asia/Shanghai instance of 2026-11-<day> (fired at 16:30 UTC the day before)."""
    return int(datetime(2026, 11, day - 1, 16, 30, tzinfo=timezone.utc).timestamp() * 1000)


@pytest.fixture(scope="module")
def stack() -> Iterator[AirflowStack]:
    """Its own stack with only the quota DAG, added once its connection exists (the latest scheduled run runs
    before the quota is set)."""
    from airflow_provider_dataworks.emulator import DEMO_SPEC

    with AirflowStack([], DEMO_SPEC) as stack:
        write_connection(stack, reset=None)
        shutil.copy(DAG_FILE, stack.dags / DAG_FILE.name)
        stack.wait_parsed([DAG_ID])
        stack.wait_runs_finished(DAG_ID, 1)
        yield stack


def write_connection(stack: AirflowStack, reset: str | None) -> None:
    conn = stack.connection()
    conn["extra"] |= {"daily_quota": DAILY_QUOTA, **({"daily_quota_reset": reset} if reset else {})}
    stack.connections_file.write_text(json.dumps({CONN_ID: conn}))


def test_backfill_meets_the_daily_quota_defers_to_the_reset_and_releases_each_instance_once(
    stack: AirflowStack,
) -> None:
    reset_at = datetime.now(timezone.utc) + timedelta(seconds=RESET_AHEAD_S)
    reset = f"{reset_at:%H:%M:%S} UTC"
    stack.control.load_spec({"quota": {"daily": DAILY_QUOTA, "reset": reset}})
    write_connection(stack, reset)
    stack.control.clear_calls()
    started = time.monotonic()

    stack.backfill(DAG_ID, "2026-11-04", "2026-11-10")  # naive dates are UTC midnight: 6 fire times
    # The scenario needs the quota met before its reset (else the refusals wait for the next day's): say so
    # rather than time out on the backfill.
    left = (reset_at - datetime.now(timezone.utc)).total_seconds()
    wait_for(lambda: refusals(stack), f"the backfill to meet the quota before its reset at {reset}", max(left, 1))
    first_refusal_s = time.monotonic() - started
    stack.wait_backfills_complete(DAG_ID, timeout=420)
    runs = [r for r in stack.wait_runs_finished(DAG_ID, 7, timeout=120) if r["run_type"] == "backfill"]
    took = time.monotonic() - started

    assert len(runs) == 6 and {r["state"] for r in runs} == {"success"}
    rows = stack.query(
        "SELECT ti.state, ti.try_number FROM task_instance ti JOIN dag_run r ON ti.dag_id = r.dag_id"
        " AND ti.run_id = r.run_id WHERE ti.dag_id = ? AND r.run_type = 'backfill'",
        DAG_ID,
    )
    # a deferral spends no try: Airflow keeps try_number at 1 and records no earlier try in the history
    assert rows == [("success", 1)] * 6
    assert stack.query("SELECT count(*) FROM task_instance_history WHERE dag_id = ?", DAG_ID) == [(0,)]

    calls = stack.control.calls()
    refused = refusals(stack)
    before = [c for c in calls if datetime.fromisoformat(c["at"]) < reset_at and c["error_code"] is None]
    after_reset = [c for c in calls if datetime.fromisoformat(c["at"]) >= reset_at]
    assert len(before) == DAILY_QUOTA  # the quota was spent, not a call more
    assert all(datetime.fromisoformat(c["at"]) < reset_at for c in refused)  # no refusal after the reset
    accepted = Counter(int(c["params"]["TriggerTime"]) for c in calls if c["action"] == TRIGGER and not c["error_code"])
    assert accepted == Counter({fire_time(day): 1 for day in range(5, 11)})  # each instance released exactly once
    for instance in stack.control.instances(700001):
        assert instance["Releases"] <= 1
    logs = "\n".join(stack.task_logs().values())
    assert "used up (Throttling.Api.Risk" in logs and "The daily quota has reset: going on" in logs

    first_after = min(datetime.fromisoformat(c["at"]) for c in after_reset)
    deferred_s = (first_after - datetime.fromisoformat(refused[0]["at"])).total_seconds()
    print(
        f"\nquota {DAILY_QUOTA}/day, reset {reset}: {len(before)} calls before the quota, {len(refused)} refused "
        f"({Counter(c['action'] for c in refused)}); {len(after_reset)} calls after the reset, the first "
        f"{deferred_s:.0f} s after the first refusal; first refusal {first_refusal_s:.0f} s after setting the "
        f"quota; backfill of 6 runs done in {took:.0f} s"
    )


def refusals(stack: AirflowStack) -> list[dict]:
    """The calls the emulator refused for the daily quota."""
    return [c for c in stack.control.calls() if c["error_code"] == "Throttling.Api.Risk"]
