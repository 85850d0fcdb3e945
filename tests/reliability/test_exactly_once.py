"""Exactly once: a seeded random driver of triggers, worker crashes, retries, clears and backfill reprocessing.

Real parts: ``DataWorksTriggerOperator.execute()`` runs in a forked worker process and drives the official
SDK over loopback HTTP against the emulator's DataWorks rules. Airflow's side is modelled: what Airflow keeps
between tries of a task (its task state store on 3.3+, its XComs) lives in a file per run; a crash is a
SIGKILL of the worker while the emulator holds its trigger call (before or after carrying it out) or its
wait's poll; the scheduler's choices (which run tries next, retries, clears, reprocessing, time passing) are
the driver's random steps. The real scheduler's retries, reprocessing and backfills are covered by
``test_dags.py`` and ``test_e2e_stack.py``.

Each sequence: 1-3 daily runs of the 00:30 HTTP trigger node, whose upstream finishes before the trigger,
3 hours after it, or 30 hours after it (past DataWorks' 24-hour retention of an early trigger; those runs
wait for the instance, which re-sends the dropped trigger once). At the end every run must have succeeded
and every instance must have been released exactly once, and no try may have sent a trigger after reading
its instance released.

Each sequence draws from its own ``random.Random(f"{seed}-{number}")``, so a failing one reruns alone:
``EXACTLY_ONCE_ONLY=17``. ``EXACTLY_ONCE_SEED``, ``EXACTLY_ONCE_SEQUENCES`` (default 210), ``EXACTLY_ONCE_FIRST``
(the first sequence number, default 0) and ``EXACTLY_ONCE_SHARDS`` (processes, each with its own emulator; default
4: the workers mostly sleep) change the rest.
"""

from __future__ import annotations

import importlib
import json
import multiprocessing
import os
import random
import signal
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pendulum
import pytest

from airflow_provider_dataworks.domain.api_records import TaskInstanceStatus
from airflow_provider_dataworks.emulator import DataWorksEmulator
from airflow_provider_dataworks.emulator.api.faults import Fault
from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_3_PLUS
from tests.conftest import RELEASE, UPSTREAM, WORKSPACE, connection_json

pytestmark = pytest.mark.oldest_sdk

SEED = int(os.environ.get("EXACTLY_ONCE_SEED", "20261125"))
SEQUENCES = int(os.environ.get("EXACTLY_ONCE_SEQUENCES", "210"))
#: The first sequence number: CI's rows each run a third of the 210 (see the Makefile).
FIRST = int(os.environ.get("EXACTLY_ONCE_FIRST", "0"))
ONLY = os.environ.get("EXACTLY_ONCE_ONLY", "")  # e.g. "17" or "17,40": rerun those sequences alone
SHARDS = int(os.environ.get("EXACTLY_ONCE_SHARDS", "4"))
ZONE = "Asia/Shanghai"
FIRST_DAY = date(2026, 11, 20)
TRIES = 3  # retries=2
UPSTREAM_TAKES = {"before": timedelta(minutes=5), "after": timedelta(hours=3), "past_retention": timedelta(hours=30)}
TRIGGER, POLL = "TriggerSchedulerTaskInstance", "GetTaskInstance"
#: A try still running after this long is a hang (a bug: check() fails the sequence). A try takes ~0.3 s; the
#: limit only has to outlast a loaded CI machine.
HUNG_AFTER_S = 120


@dataclass
class Run:
    """One DAG run as Airflow keeps it: state, tries left, and the file with its state store and XComs."""

    day: date
    file: Path
    run_type: str = "scheduled"
    state: str = "scheduled"  # scheduled | up_for_retry | success | failed
    tries_left: int = TRIES
    errors: list[str] = field(default_factory=list)

    @property
    def moment(self) -> pendulum.DateTime:
        """The instance's scheduled time: the run's data_interval_end."""
        return pendulum.datetime(self.day.year, self.day.month, self.day.day, 0, 30, tz=ZONE)

    @property
    def pending(self) -> bool:
        return self.state in ("scheduled", "up_for_retry")


# The emulated clock's time in epoch ms, shared with the forked workers: a worker dates its trigger call by it,
# as a real worker's clock agrees with DataWorks' (the driver jumps the emulated clock by hours). Each shard
# process makes its own before it forks workers.
EMULATED_NOW_MS: Any = None


def _scenario(emu: DataWorksEmulator, upstream: str) -> None:
    emu.reset()
    ws = emu.add_workspace(WORKSPACE, "cn-hangzhou")
    emu.add_task(ws, UPSTREAM, "upstream", cron="0 0 * * *", duration=UPSTREAM_TAKES[upstream])
    emu.add_task(ws, RELEASE, "release", http_trigger=True, cron="30 0 * * *", upstream=[UPSTREAM])
    emu.add_task(ws, 700002, "load", cron="30 0 * * *", upstream=[RELEASE], duration=timedelta(minutes=5))
    first = pendulum.datetime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day, 0, 31, tz=ZONE)
    emu.clock.freeze(first)
    EMULATED_NOW_MS.value = int(first.timestamp() * 1000)


def _operator(wait: bool) -> Any:
    from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator

    return DataWorksTriggerOperator(
        task_id="release",
        dataworks_task_id=RELEASE,
        project_id=WORKSPACE,
        wait_for_completion=wait,
        wait_for="instance",
        poll_interval=1,
        max_poll_interval=1,
    )


def _worker(run: Run, wait: bool) -> int:
    """The forked worker: one try of the task; persists what Airflow would; 0 (success) or 1."""
    from airflow_provider_dataworks.operators import dataworks

    dataworks.to_epoch_ms_now = lambda: EMULATED_NOW_MS.value  # type: ignore[assignment]
    state = json.loads(run.file.read_text())

    def save() -> None:
        tmp = run.file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, run.file)

    class TaskStateStore:
        def get(self, key: str) -> Any:
            return state["store"].get(key)

        def set(self, key: str, value: Any) -> None:
            state["store"][key] = value
            save()

    class TI:
        stats_tags: dict[str, str] = {}

        def xcom_push(self, key: str, value: Any) -> None:
            state["xcom"][key] = value
            save()

        def xcom_pull(self, task_ids: Any = None, key: str | None = None) -> Any:
            return state["xcom"].get(key)

    context: dict[str, Any] = {
        "logical_date": run.moment,
        "data_interval_end": run.moment,
        "dag_run": SimpleNamespace(run_type=run.run_type),
        "ti": TI(),
    }
    if AIRFLOW_V_3_3_PLUS:
        context["task_state_store"] = TaskStateStore()
    code = 0
    try:
        _operator(wait).execute(context)
    except BaseException:
        state["error"] = traceback.format_exc(limit=3)
        save()
        code = 1
    return code


class Driver:
    """One sequence: the Airflow model, its random steps, and the worker tries."""

    def __init__(self, emu: DataWorksEmulator, workdir: Path, number: int) -> None:
        self.emu, self.number = emu, number
        self.rng = rng = random.Random(f"{SEED}-{number}")
        self.upstream = rng.choices(list(UPSTREAM_TAKES), weights=(4, 4, 2))[0]
        self.wait = self.upstream == "past_retention" or rng.random() < 0.15
        days = rng.randint(1, 3)
        self.runs = [Run(FIRST_DAY + timedelta(days=i), workdir / f"{number}-{i}.json") for i in range(days)]
        for run in self.runs:
            run.file.write_text(json.dumps({"store": {}, "xcom": {}}))
        self.log: list[str] = [f"upstream {self.upstream}, wait {self.wait}, {days} day(s)"]
        self.seconds: dict[str, float] = {}  # worker time per crash kind
        _scenario(emu, self.upstream)

    # ------------------------------------------------------------------ steps
    def due(self) -> list[Run]:
        now = self.emu.clock.now()
        return [r for r in self.runs if r.moment <= now]

    def step(self) -> None:
        kind = self.rng.choices(["try", "advance", "clear", "reprocess"], weights=(6, 2, 1, 1))[0]
        pending = [r for r in self.due() if r.pending]
        finished = [r for r in self.due() if not r.pending]
        if kind == "try" and pending:
            crash = self.rng.choice(["none", "none", "before_trigger", "after_trigger"] + ["in_wait"] * self.wait)
            self.attempt(self.rng.choice(pending), crash)
        elif kind in ("clear", "reprocess") and finished:
            run = self.rng.choice(finished)
            wipe_store = self.rng.random() < 0.5
            self.log.append(f"{kind} {run.day} (state store {'wiped' if wipe_store else 'kept'})")
            run.state, run.tries_left = "scheduled", TRIES
            run.run_type = "backfill" if kind == "reprocess" else run.run_type
            if wipe_store:
                run.file.write_text(json.dumps({"store": {}, "xcom": {}}))
        else:
            hours = self.rng.choice([0.5, 2, 6, 20, 26])
            self.log.append(f"advance {hours} h")
            self.advance(timedelta(hours=hours))

    def advance(self, delta: timedelta) -> None:
        EMULATED_NOW_MS.value = int(self.emu.clock.advance(delta).timestamp() * 1000)

    def attempt(self, run: Run, crash: str) -> None:
        """One try of ``run``'s task in a forked worker, killed at ``crash`` if the try gets there."""
        state = json.loads(run.file.read_text())
        state["xcom"] = {}  # a new try starts without the last try's XComs
        run.file.write_text(json.dumps(state))
        hold: Fault | None = None
        if crash in ("before_trigger", "after_trigger"):
            hold = self.emu.inject_fault(TRIGGER, kind="hold", apply_first=crash == "after_trigger")
        elif crash == "in_wait":
            hold = self.emu.inject_fault(POLL, kind="hold")
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:  # the worker: whatever happens, it never returns into the driver's code
            try:
                os._exit(_worker(run, self.wait))
            finally:
                os._exit(1)
        outcome = self._watch(pid, hold)
        self.seconds[crash] = self.seconds.get(crash, 0.0) + time.monotonic() - started
        if hold is not None:
            hold.release()
            self.emu.clear_faults()
        self.log.append(f"try {run.day} crash={crash}: {outcome}")
        if outcome == "success":
            run.state = "success"
            return
        if outcome == "failed":
            run.errors.append(json.loads(run.file.read_text()).get("error", "?"))
        if outcome == "hung":
            run.errors.append(f"the worker was still running after {HUNG_AFTER_S} s")
        run.tries_left -= 1
        run.state = "up_for_retry" if run.tries_left > 0 else "failed"

    def _watch(self, pid: int, hold: Fault | None) -> str:
        deadline = time.monotonic() + HUNG_AFTER_S
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return "success" if os.waitstatus_to_exitcode(status) == 0 else "failed"
            if hold is not None and hold.arrived.is_set():
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return "crashed"
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return "hung"  # recorded as an error: check() fails the sequence
            if self.wait:
                self.advance(timedelta(hours=2))  # DataWorks' time passes while the worker waits
            time.sleep(0.05)

    # ------------------------------------------------------------------ end
    def settle(self) -> None:
        """Let everything come due, then try each unfinished run until it succeeds (a user clears a failed one)."""
        self.advance(timedelta(days=len(self.runs) + 1))
        for run in self.runs:
            for _ in range(3 * TRIES):
                if run.state == "success":
                    break
                if run.state == "failed":
                    self.log.append(f"clear {run.day} (failed)")
                    run.state, run.tries_left = "scheduled", TRIES
                self.attempt(run, "none")
        self.advance(timedelta(days=2))

    def check(self) -> None:
        where = f"sequence {self.number} (seed {SEED}): " + "; ".join(self.log)
        for run in self.runs:
            inst = self.emu.instance_of(RELEASE, run.moment)
            assert run.state == "success", f"{run.day} ended {run.state}: {run.errors} -- {where}"
            assert not run.errors, f"{run.day}: a try failed without a crash: {run.errors} -- {where}"
            assert inst.releases == 1, f"{run.day}: released {inst.releases} times -- {where}"
            assert inst.status == TaskInstanceStatus.SUCCESS, f"{run.day}: instance {inst.status} -- {where}"
            if self.upstream != "past_retention":
                assert inst.dropped_triggers == 0, f"{run.day}: a trigger was dropped -- {where}"
        self.check_no_trigger_after_a_released_read(where)

    def check_no_trigger_after_a_released_read(self, where: str) -> None:
        """A trigger may reach a released instance only if it was released after the worker last read it.

        (That race is DataWorks' "no effect" answer: the kept trigger of a crashed try released the instance
        between this try's read and its call. Sending after reading it released would be the operator's bug.)
        """
        instances = {int(run.moment.timestamp() * 1000): self.emu.instance_of(RELEASE, run.moment) for run in self.runs}
        last_read: datetime | None = None
        for call in self.emu.calls:
            if call.action in ("ListTaskInstances", POLL):
                last_read = call.at
            elif call.action == TRIGGER:
                inst = instances[int(call.params["TriggerTime"])]
                released_before_call = inst.triggered_at is not None and inst.triggered_at < call.at
                if released_before_call:
                    assert last_read is not None and last_read <= inst.triggered_at, (
                        f"trigger sent at {call.at} after reading instance {inst.id} released at "
                        f"{inst.triggered_at} -- {where}"
                    )


#: What the hook imports on its first call (hooks/dataworks.py, hooks/credentials.py).
SDK_MODULES = (
    "alibabacloud_credentials.client",
    "alibabacloud_credentials.models",
    "alibabacloud_dataworks_public20240518.client",
    "alibabacloud_dataworks_public20240518.models",
    "alibabacloud_tea_openapi.models",
    "darabonba.runtime",
    "Tea.exceptions",
)


def _import_before_forking() -> None:
    """Import once in the shard what every worker try would import: the operator (Airflow's models), what a
    connection lookup loads, and the SDK modules the hook loads on its first call. A try is then a fork's cost (on
    Airflow 2.11 each try had spent ~0.7 CPU-seconds importing them: under a loaded CI run, one took over the
    then 60-s hang limit)."""
    for module in SDK_MODULES:
        importlib.import_module(module)
    from airflow_provider_dataworks.hooks.dataworks import DataWorksHook

    _operator(wait=True)
    DataWorksHook().get_settings()  # reads the connection only: no client, no call


def run_shard(numbers: list[int]) -> dict[str, Any]:
    """Run the sequences ``numbers`` against one emulator (in a shard process); their tallies and first failure."""
    global EMULATED_NOW_MS
    EMULATED_NOW_MS = multiprocessing.Value("q", 0, lock=False)
    tally: dict[str, Any] = {"sequences": 0, "trigger_calls": 0, "crashes": {}, "tries": 0, "failure": None}
    with DataWorksEmulator() as emu, tempfile.TemporaryDirectory() as workdir:
        extras = {"retry_limit": 2, "qps": 1000, "read_timeout_ms": 30000}
        os.environ["AIRFLOW_CONN_DATAWORKS_DEFAULT"] = connection_json(emu, **extras)
        _import_before_forking()

        for number in numbers:
            driver = Driver(emu, Path(workdir), number)
            try:
                for _ in range(driver.rng.randint(3, 8)):
                    driver.step()
                driver.settle()
                driver.check()
            except AssertionError as err:
                tally["failure"] = str(err)
                return tally
            tally["sequences"] += 1
            tally["trigger_calls"] += len(emu.calls_of(TRIGGER))
            for line in driver.log:
                if line.startswith("try "):
                    tally["tries"] += 1
                if "crash=" in line and line.endswith("crashed"):
                    kind = line.split("crash=")[1].split(":")[0]
                    tally["crashes"][kind] = tally["crashes"].get(kind, 0) + 1
    return tally


def test_every_instance_is_released_exactly_once() -> None:
    numbers = [int(n) for n in ONLY.split(",")] if ONLY else list(range(FIRST, FIRST + SEQUENCES))
    shards = [numbers[i::SHARDS] for i in range(SHARDS)]
    started = time.monotonic()
    # Shards are fresh interpreters (spawn: no lock held by a thread of this process is inherited); each forks
    # its workers. A shard that dies fails the test (BrokenProcessPool) instead of hanging it.
    with ProcessPoolExecutor(SHARDS, mp_context=multiprocessing.get_context("spawn")) as pool:
        tallies = list(pool.map(run_shard, shards))
    failures = [t["failure"] for t in tallies if t["failure"]]
    assert not failures, failures[0]
    crashes: dict[str, int] = {}
    for tally in tallies:
        for kind, count in tally["crashes"].items():
            crashes[kind] = crashes.get(kind, 0) + count
    print(
        f"\nexactly once: {sum(t['sequences'] for t in tallies)} sequences (seed {SEED}), "
        f"{sum(t['tries'] for t in tallies)} worker tries, {sum(t['trigger_calls'] for t in tallies)} trigger calls, "
        f"crashes {crashes}, {time.monotonic() - started:.0f} s on {SHARDS} shards"
    )
    assert sum(t["sequences"] for t in tallies) == len(numbers)
    if not ONLY:
        assert set(crashes) >= {"before_trigger", "after_trigger", "in_wait"}  # every crash point was reached
