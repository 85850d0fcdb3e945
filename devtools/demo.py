"""``make demo``: the emulator's demo workspace, a real Airflow 3, a 3-day backfill, one row per run.

Starts the emulator (workspace 1001, HTTP trigger node 700001 at 00:30 Asia/Shanghai) and Airflow's
api-server, dag-processor, scheduler and triggerer (LocalExecutor, SQLite, a temporary AIRFLOW_HOME), then
backfills ``example_dataworks_wait_workflow`` (trigger, then a deferrable wait for the workflow) over the
three days before its latest scheduled run (the unpaused DAG gets that one too; it is shown as well).
Prints one row per run, stops everything, exits 1 if any run failed. ``--keep`` leaves the stack running
(Ctrl-C stops it) to look around the UI. ``--stack celery`` (``make demo STACK=celery``) runs the same demo on the
production shape: PostgreSQL, Redis, CeleryExecutor with two workers, two triggerers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pendulum

from airflow_provider_dataworks.domain.timing import format_in_zone
from airflow_provider_dataworks.emulator.spec import DEMO_SPEC
from devtools.airflow_stack import EXECUTORS, AirflowStack, wait_for

EXAMPLE = "example_dataworks_wait_workflow"
EXAMPLE_FILE = Path(__file__).resolve().parent.parent / "example_dags" / f"{EXAMPLE}.py"
ZONE = "Asia/Shanghai"
NODE = 700001


def backfill_window(latest_logical: datetime) -> tuple[str, str]:
    """From/to (ISO-8601 in ZONE) holding the 3 daily logical dates before the latest scheduled run's."""
    day = pendulum.instance(latest_logical).in_timezone(ZONE).start_of("day")
    return day.subtract(days=3).isoformat(), day.subtract(days=1).add(hours=12).isoformat()


def latest_scheduled_logical_date(stack: AirflowStack) -> datetime:
    """The logical date (UTC) of the run the scheduler makes for the unpaused DAG (catchup=False)."""

    def scheduled() -> str | None:
        return next((r["logical_date"] for r in stack.runs(EXAMPLE) if r["run_type"] == "scheduled"), None)

    return utc(wait_for(scheduled, "the latest scheduled run", 120, 1))


def utc(stored: str) -> datetime:
    """A datetime as the stack's ``query`` gives it (naive UTC text, as SQLite stores it) made aware."""
    return datetime.fromisoformat(stored).replace(tzinfo=timezone.utc)


def xcoms(stack: AirflowStack, run_id: str) -> dict[str, Any]:
    rows = stack.query("SELECT key, value FROM xcom WHERE dag_id = ? AND run_id = ?", EXAMPLE, run_id)
    return {key: json.loads(value) if isinstance(value, str | bytes) else value for key, value in rows}


def calls_of(calls: list[dict[str, Any]], inst: dict[str, Any]) -> int:
    """How many emulator calls concern this instance (read off their parameters)."""

    def concerns(call: dict[str, Any]) -> bool:
        params, action = call["params"], call["action"]
        if action == "ListTaskInstances":
            return params.get("TaskId") == str(NODE) and params.get("Bizdate") == str(inst["Bizdate"])
        if action == "TriggerSchedulerTaskInstance":
            return params.get("TaskId") == str(NODE) and params.get("TriggerTime") == str(inst["TriggerTime"])
        if action in ("GetTaskInstance", "ListDownstreamTaskInstances"):
            return params.get("Id") == str(inst["Id"])
        if action == "GetWorkflowInstance":
            return params.get("Id") == str(inst["WorkflowInstanceId"])
        return False

    return sum(concerns(call) for call in calls)


def table(rows: list[tuple[Any, ...]]) -> str:
    header = ("run", "logical date", "TriggerTime ms", f"TriggerTime ({ZONE})", "instance", "instance status",
              "workflow status", "API calls", "run state")  # fmt: skip
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)) for row in [header, *rows])


def report(stack: AirflowStack) -> tuple[str, int]:
    """(the table, number of failed runs)."""
    instances = {i["Id"]: i for i in stack.control.instances(NODE)}
    calls = stack.control.calls()
    rows: list[tuple[Any, ...]] = []
    failed = 0
    for run in stack.runs(EXAMPLE):
        pushed = xcoms(stack, run["run_id"])
        inst = instances.get(pushed.get("instance_id"))
        logical = pendulum.instance(utc(run["logical_date"])).in_timezone(ZONE).format("YYYY-MM-DD HH:mm Z")
        if inst is None:
            rows.append((run["run_type"], logical, "-", "-", "-", "-", "-", "-", run["state"]))
            failed += 1
            continue
        workflow = stack.control.workflow_instance(inst["WorkflowInstanceId"])
        ok = run["state"] == "success" and inst["Status"] == "Success" and workflow["Status"] == "Success"
        failed += not ok
        rows.append((run["run_type"], logical, inst["TriggerTime"], format_in_zone(inst["TriggerTime"], ZONE),
                     inst["Id"], inst["Status"], workflow["Status"], calls_of(calls, inst), run["state"]))  # fmt: skip
    return table(rows), failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument("--keep", action="store_true", help="leave the stack running until Ctrl-C")
    shapes = "local: SQLite + LocalExecutor (default); celery: PostgreSQL + Redis + CeleryExecutor"
    parser.add_argument("--stack", choices=EXECUTORS, default="local", help=shapes)
    args = parser.parse_args(argv)
    started, failed = time.monotonic(), 0
    stack = AirflowStack([EXAMPLE_FILE], DEMO_SPEC, executor=args.stack)
    print(f"AIRFLOW_HOME {stack.home} ({args.stack}: {', '.join(stack.components)})")
    try:
        stack.start()
        print(f"emulator {stack.emulator['endpoint']}, Airflow UI {stack.api_url} (all components up)")
        stack.wait_parsed([EXAMPLE])
        from_date, to_date = backfill_window(latest_scheduled_logical_date(stack))
        print(f"backfill {EXAMPLE} {from_date} .. {to_date}")
        stack.backfill(EXAMPLE, from_date, to_date)
        stack.wait_backfills_complete(EXAMPLE)
        stack.wait_runs_finished(EXAMPLE, 4)  # 3 backfilled + the latest scheduled run
        text, failed = report(stack)
        print(f"\n{text}\n")
        total = len(stack.control.calls())
        runs = len(stack.runs(EXAMPLE))
        print(f"{runs - failed} of {runs} runs succeeded; emulator calls in all: {total}; "
              f"{time.monotonic() - started:.0f} s")  # fmt: skip
        if args.keep:
            print(f"stack left running: {stack.api_url} (Ctrl-C stops it)")
            signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background
            signal.signal(signal.SIGTERM, signal.default_int_handler)
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
    except Exception as err:
        print(f"demo failed: {err}", file=sys.stderr)
        failed = 1
    finally:
        stack.stop()
    if failed:
        print(f"component and task logs kept in {stack.home}", file=sys.stderr)
        return 1
    shutil.rmtree(stack.home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
