"""End to end on a real Airflow 3 (the shared ``airflow_stack``): cancel and repair through the REST API.

- Marking a deferred task failed makes the triggerer call the trigger's ``on_kill``: the released workflow instance
  is stopped in DataWorks, and what had not run yet never runs.
- Clearing a task after a DataWorks failure: the new try reruns only the failed instance, never re-sends the
  trigger, and the run succeeds.

Each scenario has its own day (2026-10-13 and 2026-10-14, 00:30 Asia/Shanghai), which no other scenario releases,
and freezes the emulator's clock while it needs the workflow to stand still.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_0_PLUS
from devtools.airflow_stack import AirflowStack, wait_for

pytestmark = pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="the stack is Airflow 3's (api-server, dag-processor)")

DAGS = Path(__file__).resolve().parents[1] / "dags"
CANCEL, REPAIR = "e2e_control_cancel", "e2e_control_repair"
TASK = "release_and_wait"
RELEASE, DWD_ORDERS, DWD_CUSTOMERS, ADS = 700001, 700002, 700003, 700004  # the demo workspace (emulator DEMO_SPEC)


@pytest.fixture(scope="module")
def stack(airflow_stack: AirflowStack) -> AirflowStack:
    """The shared stack with this module's DAGs added to its dags folder (the dag-processor picks them up)."""
    shutil.copy(DAGS / "e2e_control.py", airflow_stack.dags / "e2e_control.py")
    airflow_stack.wait_parsed([CANCEL, REPAIR])
    return airflow_stack


@pytest.fixture
def frozen(stack: AirflowStack) -> Iterator[None]:
    """The emulated clock stands still (what is released stays where it is) until the scenario lets it run."""
    stack.control.set_clock(freeze=True)
    try:
        yield
    finally:
        stack.control.set_clock(freeze=False)


def fire(day: int) -> datetime:
    """2026-10-<day> 00:30 Asia/Shanghai: the logical date of a run, and the TriggerTime it names."""
    return datetime(2026, 10, day - 1, 16, 30, tzinfo=timezone.utc)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def instance(stack: AirflowStack, task_id: int, moment: datetime) -> dict[str, Any]:
    (found,) = [i for i in stack.control.instances(task_id) if i["TriggerTime"] == ms(moment)]
    return found


def api(stack: AirflowStack, method: str, path: str, payload: dict[str, Any]) -> Any:
    """One REST API call (``/api/v2/...``; the stack's simple auth manager makes everyone admin)."""
    request = urllib.request.Request(
        f"{stack.api_url}/api/v2/{path}", data=json.dumps(payload).encode(), method=method,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=60) as response:
        return json.loads(response.read())


def start_run(stack: AirflowStack, dag_id: str, moment: datetime) -> str:
    """Trigger a run of ``dag_id`` for ``moment``; its run id once its task waits deferred in the triggerer."""
    stack.cli("dags", "trigger", dag_id, "--logical-date", moment.isoformat())

    def deferred() -> str | None:
        rows = stack.query("SELECT run_id, state FROM task_instance WHERE dag_id = ? AND task_id = ?", dag_id, TASK)
        return next((run_id for run_id, state in rows if state == "deferred"), None)

    return wait_for(deferred, f"{dag_id}'s task deferred", 180, 1)


def trigger_started(stack: AirflowStack, dag_id: str, run_id: str) -> bool:
    """The triggerer runs the deferred task's trigger (its log says so): only then can it be told to stop."""
    logs = stack.task_logs().items()
    return any(".trigger." in path.name and "starting" in text for path, text in logs if run_id in str(path))


def run_state(stack: AirflowStack, dag_id: str, run_id: str) -> str | None:
    rows = stack.query("SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", dag_id, run_id)
    return rows[0][0] if rows else None


def triggers_of(stack: AirflowStack, moment: datetime) -> int:
    calls = stack.control.calls("TriggerSchedulerTaskInstance")
    return sum(1 for c in calls if c["params"]["TriggerTime"] == str(ms(moment)))


@pytest.mark.usefixtures("frozen")
def test_marking_a_deferred_task_failed_stops_the_released_workflow(stack: AirflowStack) -> None:
    moment = fire(13)
    run_id = start_run(stack, CANCEL, moment)
    assert triggers_of(stack, moment) == 1
    assert instance(stack, DWD_ORDERS, moment)["Status"] == "Running"  # released; the frozen clock holds it there
    wait_for(lambda: trigger_started(stack, CANCEL, run_id), "the wait's trigger running in the triggerer", 120, 1)
    api(stack, "PATCH", f"dags/{CANCEL}/dagRuns/{run_id}/taskInstances/{TASK}", {"new_state": "failed"})

    wfi = instance(stack, RELEASE, moment)["WorkflowInstanceId"]
    stops = wait_for(lambda: stack.control.calls("StopWorkflowInstances"), "StopWorkflowInstances", 120, 1)
    assert [json.loads(c["params"]["Ids"]) for c in stops] == [[wfi]]
    stack.control.set_clock(freeze=False)  # time goes on: nothing of the stopped workflow runs any more
    assert stack.control.workflow_instance(wfi)["Status"] == "Failure"
    after = {t: instance(stack, t, moment) for t in (RELEASE, DWD_ORDERS, DWD_CUSTOMERS, ADS)}
    assert [after[t]["Status"] for t in after] == ["Success", "Failure", "Failure", "Failure"]
    assert after[ADS]["StartedTime"] is None  # it never ran
    assert run_state(stack, CANCEL, run_id) == "failed"
    logs = [*stack.task_logs().values(), (stack.home / "triggerer.log").read_text(errors="replace")]
    assert any(f"cancel_on_kill: stopped workflow instance {wfi}." in text for text in logs)


@pytest.mark.usefixtures("frozen")
def test_clearing_a_task_after_a_dataworks_failure_reruns_only_the_failed_instance(stack: AirflowStack) -> None:
    moment = fire(14)
    run_id = start_run(stack, REPAIR, moment)
    failed = instance(stack, DWD_ORDERS, moment)["Id"]
    stack.control.set_instance_status(failed, "Failure")  # the job failed in DataWorks
    wait_for(lambda: run_state(stack, REPAIR, run_id) == "failed", "the run to fail", 180, 1)
    assert not stack.control.calls("RerunTaskInstances")  # the try that saw the failure does not repair it
    stack.control.set_clock(freeze=False)

    wfi = instance(stack, RELEASE, moment)["WorkflowInstanceId"]
    before = len(stack.control.calls())
    api(stack, "POST", f"dags/{REPAIR}/clearTaskInstances",
        {"dag_run_id": run_id, "task_ids": [TASK], "only_failed": True, "dry_run": False})  # fmt: skip
    wait_for(lambda: run_state(stack, REPAIR, run_id) == "success", "the cleared run to succeed", 240, 1)
    reruns = [json.loads(c["params"]["Ids"]) for c in stack.control.calls("RerunTaskInstances")]
    assert reruns == [[failed]]
    # The cleared try re-attaches (task state store), reads the workflow and what failed, reruns: 3 calls.
    bizdate = str(ms(moment) - 30 * 60_000 - 24 * 3600_000)  # 2026-10-13 00:00 Asia/Shanghai
    ours = [c["action"] for c in stack.control.calls()[before:]
            if str(wfi) in (c["params"].get("Id"), c["params"].get("WorkflowInstanceId"))
            or c["params"].get("Bizdate") == bizdate or c["action"] == "RerunTaskInstances"]  # fmt: skip
    assert ours[: ours.index("RerunTaskInstances") + 1] == ["GetWorkflowInstance", "ListTaskInstances",
                                                           "RerunTaskInstances"]  # fmt: skip
    assert triggers_of(stack, moment) == 1  # the repair never sends the trigger again
    after = {t: instance(stack, t, moment) for t in (RELEASE, DWD_ORDERS, DWD_CUSTOMERS, ADS)}
    assert {t: (i["Status"], i["RunNumber"]) for t, i in after.items()} == {
        RELEASE: ("Success", 1), DWD_ORDERS: ("Success", 2), DWD_CUSTOMERS: ("Success", 1), ADS: ("Success", 1)
    }  # fmt: skip
    assert after[RELEASE]["Releases"] == 1
