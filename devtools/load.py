"""Load on one DataWorks account: a wide backfill of trigger-and-wait tasks on the production stack (PostgreSQL,
Redis, CeleryExecutor, 2 workers, 2 triggerers) against an emulator that plays an account's read and write QPS far
below what the tasks ask, and the figures that say whether the load was held.

Every process (each task try in a worker, each triggerer) has its own limiter and knows nothing of the others, as
in production; the emulator counts one account in one region for all of them. Used by
``tests/system/celery/test_e2e_load.py`` (~40 runs) and ``benchmarks/load.py`` (300 runs, ``make bench``).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from airflow_provider_dataworks.domain.api_limits import api_kind
from devtools.airflow_stack import AirflowStack

DAG_ID = "load_backfill"
WORKSPACE, RELEASE = 3001, 900100  # an HTTP trigger node at 01:00 Asia/Shanghai daily, no upstream
#: How long the node's instance runs once triggered: each wait stays deferred that long, so the runs' tasks overlap.
NODE_SECONDS = 20
ZONE = ZoneInfo("Asia/Shanghai")
TRIGGER = "TriggerSchedulerTaskInstance"

SPEC: dict[str, Any] = {
    "workspaces": [
        {
            "id": WORKSPACE,
            "region": "cn-hangzhou",
            "name": "load",
            "tasks": [
                {
                    "id": RELEASE,
                    "name": "release_load",
                    "http_trigger": True,
                    "cron": "0 1 * * *",
                    "duration_seconds": NODE_SECONDS,
                }
            ],
        }
    ]
}

#: One trigger-and-wait task a run, deferred while it waits (poll_interval 10 s: not under 10, see
#: docs/reference/known-limits.md); every run is one business date, so each wait polls on its own (no sharing
#: across runs).
DAG_SOURCE = f'''
from datetime import timedelta

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator

with DAG(
    dag_id="{DAG_ID}",
    schedule="0 1 * * *",
    start_date=pendulum.datetime(2025, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_tasks=128,
    max_active_runs=128,
    default_args={{"retries": 2, "retry_delay": timedelta(seconds=5)}},
):
    DataWorksTriggerOperator(
        task_id="release_and_wait",
        dataworks_task_id={RELEASE},
        project_id={WORKSPACE},
        wait_for_completion=True,
        wait_for="instance",
        deferrable=True,
        poll_interval=10,
        max_poll_interval=20,
    )
'''
#: Airflow's scheduler examines 20 running runs a loop by default, and keeps picking the same ones while their tasks
#: are deferred: with 32 runs at once, 12 runs' tasks stayed unscheduled until others finished. A deployment that
#: runs more than 20 runs at once needs the same.
SCHEDULER_SETTINGS = {"AIRFLOW__SCHEDULER__MAX_DAGRUNS_PER_LOOP_TO_SCHEDULE": "64"}
#: Task instance states that hold a run's task "active" (deferred ones included).
ACTIVE = ("queued", "running", "deferred", "up_for_reschedule")


@dataclass
class LoadResult:
    runs: int
    max_active_runs: int
    read_qps: float
    write_qps: float
    wall_s: float  # from `backfill create` to every run finished
    run_states: Counter[str] = field(default_factory=Counter)
    task_states: Counter[str] = field(default_factory=Counter)
    tries: Counter[int] = field(default_factory=Counter)  # try_number -> task instances
    most_tasks_active: int = 0  # sampled every second: queued, running or deferred at once
    most_runs_active: int = 0  # from the runs' start and end times
    accepted: Counter[str] = field(default_factory=Counter)  # kind -> calls answered 200
    refused: Counter[str] = field(default_factory=Counter)  # kind -> calls answered 429 Throttling.* (retried)
    other_errors: Counter[str] = field(default_factory=Counter)  # "action code" -> count
    releases: Counter[int] = field(default_factory=Counter)  # Releases -> instances (want {1: runs})
    accepted_triggers: Counter[int] = field(default_factory=Counter)
    peak_accepted: dict[str, int] = field(default_factory=dict)  # kind -> most accepted in one wall second
    samples: list[dict[str, int]] = field(default_factory=list, repr=False)  # task states, once a second
    most_refusals_per_trigger: int = 0  # 429s one TriggerTime met before its trigger went through
    trigger_span_s: float = 0.0  # from the first accepted trigger to the last

    @property
    def needed_s(self) -> float:
        """The least time the accepted calls need at the account's QPS (reads and writes in parallel)."""
        return max(self.accepted["read"] / self.read_qps, self.accepted["write"] / self.write_qps)

    def table(self) -> str:
        """The figures as a Markdown table."""
        rows = [
            ("runs (backfill), most active at once", f"{self.runs}, {self.most_runs_active}"),
            ("trigger-and-wait tasks active at once (queued, running or deferred), most", str(self.most_tasks_active)),
            ("run states", _counts(self.run_states)),
            ("task tries (try_number: task instances)", _counts(self.tries)),
            ("instances released (Releases: instances)", _counts(self.releases)),
            ("triggers accepted per instance", _counts(self.accepted_triggers)),
            ("account limit (emulator)", f"{self.read_qps:g} read / {self.write_qps:g} write QPS"),
            ("calls accepted: reads, writes", f"{self.accepted['read']}, {self.accepted['write']}"),
            ("calls refused (429 Throttling.User) and retried: reads, writes",
             f"{self.refused['read']}, {self.refused['write']}"),
            ("other errors", _counts(self.other_errors) or "none"),
            ("most calls accepted in one second: reads, writes",
             f"{self.peak_accepted.get('read', 0)}, {self.peak_accepted.get('write', 0)}"),
            ("most refusals one trigger met before it went through", str(self.most_refusals_per_trigger)),
            ("time the accepted calls need at that QPS", f"{self.needed_s:.0f} s"),
            ("first to last accepted trigger", f"{self.trigger_span_s:.0f} s"),
            ("wall time (backfill create to every run done)", f"{self.wall_s:.0f} s"),
        ]  # fmt: skip
        return "\n".join(["| figure | value |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)])


def _counts(counter: Counter[Any]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counter.items(), key=lambda kv: str(kv[0])))


def load_stack(
    read_qps: float, write_qps: float, dag_dir: Path, worker_concurrency: int = 16, **kwargs: Any
) -> AirflowStack:
    """A Celery stack (not started) with the load DAG, whose emulator plays ``read_qps`` / ``write_qps`` for the
    account, with no retry-after hint (DataWorks documents none). Two workers of ``worker_concurrency`` slots
    (parallelism = both): 32 task processes can call DataWorks at once."""
    dag_file = dag_dir / f"{DAG_ID}.py"
    dag_file.write_text(DAG_SOURCE)
    args = ["--read-qps", str(read_qps), "--write-qps", str(write_qps)]
    settings = {**SCHEDULER_SETTINGS, **kwargs.pop("settings", {})}
    return AirflowStack(
        [dag_file], SPEC, executor="celery", emulator_args=args, worker_concurrency=worker_concurrency,
        settings=settings, **kwargs,
    )  # fmt: skip


def backfill_range(runs: int, today: date | None = None) -> tuple[str, str, list[int]]:
    """``--from-date``, ``--to-date`` of ``runs`` daily runs ending three days ago (Shanghai), and their
    TriggerTimes (epoch ms)."""
    last = (today or datetime.now(ZONE).date()) - timedelta(days=3)
    first = last - timedelta(days=runs - 1)
    times = [
        int(datetime(d.year, d.month, d.day, 1, tzinfo=ZONE).timestamp() * 1000)
        for d in (first + timedelta(days=n) for n in range(runs))
    ]
    return f"{first.isoformat()}T00:00:00+08:00", f"{last.isoformat()}T12:00:00+08:00", times


class _Sampler(threading.Thread):
    """Counts the backfill's active task instances every second while it runs."""

    def __init__(self, stack: AirflowStack) -> None:
        super().__init__(daemon=True)
        self.stack, self.most, self.stopped = stack, 0, threading.Event()
        self.samples: list[dict[str, int]] = []  # the states of the DAG's task instances, once a second

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            try:
                rows = self.stack.query(
                    "SELECT coalesce(ti.state, 'none'), count(*) FROM task_instance ti JOIN dag_run r ON r.dag_id = "
                    "ti.dag_id AND r.run_id = ti.run_id WHERE ti.dag_id = ? AND r.run_type = 'backfill' "
                    "GROUP BY ti.state",
                    DAG_ID,
                )
            except Exception:
                continue
            states = {state: count for state, count in rows}
            self.samples.append(states)
            self.most = max(self.most, sum(states.get(s, 0) for s in ACTIVE))


def run_backfill(stack: AirflowStack, runs: int, max_active_runs: int, read_qps: float, write_qps: float) -> LoadResult:
    """Backfill ``runs`` days with ``max_active_runs`` at once on a started :func:`load_stack`; the figures."""
    stack.wait_parsed([DAG_ID])
    # The latest scheduled run (catchup=False) goes on beside the backfill: its trigger (another TriggerTime) is
    # left out of the writes below, its few reads are counted in.
    stack.control.clear_calls()
    from_date, to_date, times = backfill_range(runs)
    wanted = {str(t) for t in times}
    sampler = _Sampler(stack)
    sampler.start()
    started = time.monotonic()
    stack.backfill(DAG_ID, from_date, to_date, "--max-active-runs", str(max_active_runs))
    stack.wait_backfills_complete(DAG_ID, timeout=600)
    finished = [r for r in stack.wait_runs_finished(DAG_ID, runs + 1, timeout=600) if r["run_type"] == "backfill"]
    wall = time.monotonic() - started
    sampler.stopped.set()
    result = LoadResult(runs, max_active_runs, read_qps, write_qps, wall, most_tasks_active=sampler.most)
    result.samples = sampler.samples
    result.run_states.update(r["state"] for r in finished)
    for state, try_number in stack.query(
        "SELECT ti.state, ti.try_number FROM task_instance ti JOIN dag_run r ON r.dag_id = ti.dag_id AND "
        "r.run_id = ti.run_id WHERE ti.dag_id = ? AND r.run_type = 'backfill'",
        DAG_ID,
    ):
        result.task_states[state] += 1
        result.tries[try_number] += 1
    spans = stack.query("SELECT start_date, end_date FROM dag_run WHERE dag_id = ? AND run_type = 'backfill'", DAG_ID)
    result.most_runs_active = max((sum(s <= m < e for s, e in spans) for m, _ in spans), default=0)
    per_second: Counter[tuple[str, str]] = Counter()
    refused_triggers: Counter[str] = Counter()
    accepted_at: list[datetime] = []
    for call in stack.control.calls():
        kind = api_kind(call["action"])
        if call["action"] == TRIGGER and call["params"].get("TriggerTime") not in wanted:
            continue
        if call["http_status"] == 200:
            result.accepted[kind] += 1
            per_second[(kind, call["at"][:19])] += 1
            if call["action"] == TRIGGER:
                accepted_at.append(datetime.fromisoformat(call["at"]))
        elif call["http_status"] == 429 and str(call["error_code"]).startswith("Throttling"):
            result.refused[kind] += 1
            if call["action"] == TRIGGER:
                refused_triggers[call["params"]["TriggerTime"]] += 1
        else:
            result.other_errors[f"{call['action']} {call['error_code']}"] += 1
    result.most_refusals_per_trigger = max(refused_triggers.values(), default=0)
    if accepted_at:
        result.trigger_span_s = (max(accepted_at) - min(accepted_at)).total_seconds()
    for (kind, _), count in per_second.items():
        result.peak_accepted[kind] = max(result.peak_accepted.get(kind, 0), count)
    for inst in stack.control.instances(RELEASE):
        if str(inst["TriggerTime"]) in wanted:
            result.releases[inst["Releases"]] += 1
            result.accepted_triggers[inst["AcceptedTriggers"]] += 1
    return result


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
