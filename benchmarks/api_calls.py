"""API calls per DAG run, read from the emulator's call log (real operator, trigger, hook, SDK; dag.test()).

Paths: trigger only; trigger and a deferrable wait for a workflow that runs 10 minutes with a 60 s poll
interval (with and without backoff); the naive pattern of the vendor's sample (one trigger call, then a
status call every 10 s) as the baseline. Waiting is time-scaled 60:1 so the run takes seconds: the
workflow runs 10 s and the operator polls every 1 s (the naive loop every 1/6 s) -- the same number of
polls as 10 min at 60 s.

    python -m benchmarks.api_calls [--json]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import machine  # noqa: F401 - sets the SDK's environment first

HOME = Path(tempfile.mkdtemp(prefix="api-calls-home-"))
(HOME / "dags").mkdir()
os.environ.update(
    AIRFLOW_HOME=str(HOME),
    AIRFLOW__CORE__DAGS_FOLDER=str(HOME / "dags"),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{HOME}/airflow.db",
)
SCALE = 60  # seconds of real DataWorks time per second here
WORKFLOW_S, POLL_S, NAIVE_POLL_S = 600 / SCALE, 60 / SCALE, 10 / SCALE
DAG = """
import pendulum
from airflow.providers.common.compat.sdk import DAG
from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator

with DAG("{dag_id}", schedule="30 0 * * *", start_date=pendulum.datetime(2026, 11, 1, tz="Asia/Shanghai")):
    DataWorksTriggerOperator(task_id="release", dataworks_task_id=700001, {kwargs})
"""


def emulator(duration_s: float) -> Any:
    """Workspace 1001: trigger node 700001 (00:30 Asia/Shanghai) -> one node running ``duration_s``."""
    from airflow_provider_dataworks.emulator import DataWorksEmulator

    emu = DataWorksEmulator().start()
    ws = emu.add_workspace(1001, "cn-hangzhou")
    emu.add_task(ws, 700001, "release", http_trigger=True, cron="30 0 * * *")
    emu.add_task(ws, 700002, "load", cron="30 0 * * *", upstream=[700001], duration=timedelta(seconds=duration_s))
    os.environ["AIRFLOW_CONN_DATAWORKS_DEFAULT"] = (
        f'{{"conn_type": "dataworks", "login": "{emu.access_key_id}", "password": "{emu.access_key_secret}", '
        f'"extra": {{"endpoint": "{emu.endpoint}", "region_id": "cn-hangzhou", "project_id": 1001}}}}'
    )
    return emu


def yesterday_0030() -> datetime:
    """The latest 00:30 Asia/Shanghai that has passed (its instance exists and waits)."""
    import pendulum

    now = pendulum.now("Asia/Shanghai")
    fire = now.start_of("day").add(minutes=30)
    return (fire if fire <= now else fire.subtract(days=1)).in_timezone("UTC")


def dag_run_calls(dag_id: str, kwargs: str, duration_s: float) -> tuple[int, list[str], float]:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2.x
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

    path = HOME / "dags" / f"{dag_id}.py"
    path.write_text(DAG.format(dag_id=dag_id, kwargs=kwargs))
    emu = emulator(duration_s)
    try:
        start = time.monotonic()
        run = DagBag(str(path)).get_dag(dag_id).test(logical_date=yesterday_0030())
        assert run.state == "success", f"{dag_id}: {run.state}"
        return len(emu.calls), [c.action for c in emu.calls], time.monotonic() - start
    finally:
        emu.stop()


def naive_calls() -> tuple[int, list[str], float]:
    """The vendor sample's pattern: TriggerSchedulerTaskInstance, then GetWorkflowInstance every 10 s."""
    from alibabacloud_dataworks_public20240518 import models
    from darabonba.runtime import RuntimeOptions

    from airflow_provider_dataworks.hooks.dataworks import DataWorksHook

    emu = emulator(WORKFLOW_S)
    try:
        client, runtime, start = DataWorksHook().get_conn(), RuntimeOptions(), time.monotonic()
        fire = int(yesterday_0030().timestamp() * 1000)
        request = models.TriggerSchedulerTaskInstanceRequest(task_id=700001, env_type="Prod", trigger_time=fire)
        client.trigger_scheduler_task_instance_with_options(request, runtime)
        workflow_id = emu.instance_of(700001, fire).workflow_instance_id  # the sample is given it
        while True:
            wfi = client.get_workflow_instance_with_options(
                models.GetWorkflowInstanceRequest(id=workflow_id), runtime
            ).body.workflow_instance
            if wfi.status in ("Success", "Failure"):
                return len(emu.calls), [c.action for c in emu.calls], time.monotonic() - start
            time.sleep(NAIVE_POLL_S)
    finally:
        emu.stop()


def run() -> list[tuple[str, int, str, str]]:
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
    wait = f"wait_for_completion=True, wait_for='workflow', deferrable=True, poll_interval={POLL_S}"
    rows = []
    calls, actions, _ = dag_run_calls("bench_trigger_only", "", 0)
    rows.append(("trigger only", calls, "<= 2", summary(actions)))
    calls, actions, _ = dag_run_calls("bench_wait_backoff", wait, WORKFLOW_S)
    rows.append(("trigger + deferrable workflow wait, 60 s poll, backoff to 240 s (default)", calls, "<= 13",
                 summary(actions)))  # fmt: skip
    calls, actions, _ = dag_run_calls("bench_wait_fixed", wait + f", max_poll_interval={POLL_S}", WORKFLOW_S)
    rows.append(("trigger + deferrable workflow wait, 60 s poll, no backoff", calls, "<= 13", summary(actions)))
    calls, actions, _ = naive_calls()
    rows.append(("naive (vendor sample): trigger, then a status call every 10 s", calls, "-", summary(actions)))
    return rows


def summary(actions: list[str]) -> str:
    counts: dict[str, int] = {}
    for action in actions:
        counts[action] = counts.get(action, 0) + 1
    return ", ".join(f"{n} {a}" for a, n in counts.items())


def table(rows: list[tuple[str, int, str, str]]) -> str:
    lines = ["| path (a 10-minute workflow) | API calls per run | goal | calls |", "|---|---:|---|---|"]
    lines += [f"| {path} | {calls} | {goal} | {what} |" for path, calls, goal, what in rows]
    naive, ours = rows[-1][1], rows[1][1]
    lines.append(f"\nThe default deferrable wait makes {naive / ours:.1f}x fewer calls than the naive loop.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    rows = run()
    print(json.dumps(rows) if "--json" in (argv if argv is not None else sys.argv[1:]) else table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
