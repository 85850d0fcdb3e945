"""Test your DAGs against the DataWorks emulator: an opt-in pytest plugin.

Load it in your ``conftest.py`` (or a test module) with ``pytest_plugins = ["airflow_provider_dataworks.testing"]``,
or on the command line with ``-p airflow_provider_dataworks.testing``. It is never loaded by itself.

The ``dataworks_emulator`` fixture:

- starts the emulator on a loopback port with your scenario (fixture ``dataworks_scenario``: a dict or a YAML/JSON
  file path; default the demo workspace 1001, node 700001 at 00:30 Asia/Shanghai);
- points a connection at it for the test (``AIRFLOW_CONN_<ID>``; fixture ``dataworks_conn_id``, default
  ``dataworks_default``), for the scenario's first workspace (``emu.connection(workspace)`` for others);
- prepares Airflow's metadata database once per session in the configured ``AIRFLOW_HOME``: when it has no
  tables yet it runs ``airflow db migrate`` instead of failing with "no such table: task_instance";
- runs the emulated clock fast (fixture ``dataworks_clock_speed``, default 600 emulated seconds per real second)
  so that the scenario's durations pass in moments. A frozen clock stays frozen; ``emu.run_dag`` refuses to run a
  DAG that waits for DataWorks on a frozen clock (it would wait for ever), ``emu.wait_until`` says so too, and when
  a wait of your own (a plain ``dag.test()``) keeps polling a frozen clock, a warning says why nothing moves.

It returns an :class:`EmulatedDataWorks`: everything the emulator has (``calls_of``, ``instance_of``, ``clock``,
``add_task``, ``inject_fault``, ...) plus ``run_dag`` (``dag.test()`` for a date, failing loudly when the run executed
no task, e.g. a date before the DAG's start date), ``trigger_calls`` / ``trigger_times`` and ``wait_until``.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

# The emulator is a test double: this module is the one place of the package, besides the emulator and its CLI,
# meant to import it (the pytest plugin exists to run it).
from airflow_provider_dataworks.emulator import DEMO_SPEC, DataWorksEmulator  # noqa: TID251
from airflow_provider_dataworks.emulator.spec import load_spec_file  # noqa: TID251

#: How often the clock thread moves the emulated clock, in real seconds.
TICK_SECONDS = 0.05
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


class DataWorksTestError(AssertionError):
    """A DAG test that cannot mean what it seems to: the message says why and what to do."""


class NoTaskRanError(DataWorksTestError):
    """``dag.test()`` ran no task (e.g. the date lies before the DAG's start date), so it proves nothing."""


class FrozenClockError(DataWorksTestError):
    """The emulator's clock is frozen while something waits for DataWorks to move on: it never would."""


def pytest_configure(config: pytest.Config) -> None:
    # The SDK's default credential chain probes the ECS metadata address unless told not to (before it is imported).
    os.environ.setdefault("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")


# --------------------------------------------------------------------------------------------- the database
def airflow_db_ready() -> bool:
    """Whether Airflow's metadata database has its tables (``airflow db migrate`` has run)."""
    from airflow import settings
    from sqlalchemy import inspect

    engine = settings.engine if getattr(settings, "engine", None) is not None else settings.get_engine()
    names = set(inspect(engine).get_table_names())
    return {"alembic_version", "dag_run", "task_instance"} <= names


def prepare_airflow_db() -> str:
    """Migrate Airflow's metadata database when it has no tables yet; returns where it is (the SQL Alchemy URL)."""
    from airflow import settings

    if not airflow_db_ready():
        done = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True, timeout=600
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"`airflow db migrate` failed (AIRFLOW_HOME={os.environ.get('AIRFLOW_HOME', '~/airflow')}):\n"
                f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
            )
        if not airflow_db_ready():
            raise RuntimeError("`airflow db migrate` ran, but the database still has no task_instance table")
    engine: Any = settings.engine if getattr(settings, "engine", None) is not None else settings.get_engine()
    return str(engine.url)


@pytest.fixture(scope="session")
def dataworks_airflow_db() -> str:
    """Airflow's metadata database, migrated once per session if it was not (``dag.test()`` needs it)."""
    return prepare_airflow_db()


# --------------------------------------------------------------------------------------------- the fixture
@pytest.fixture
def dataworks_scenario() -> dict[str, Any] | str | Path | None:
    """The emulator's scenario: a dict, or a YAML / JSON file path; None: the demo workspace. Override it."""
    return None


@pytest.fixture
def dataworks_conn_id() -> str:
    """The connection id the fixture points at the emulator. Override it to use another one."""
    return "dataworks_default"


@pytest.fixture
def dataworks_clock_speed() -> float:
    """Emulated seconds per real second while the test runs (0: the clock keeps real time). Override it."""
    return 600.0


class EmulatedDataWorks:
    """The emulator (every attribute of :class:`DataWorksEmulator` is here too) and helpers for DAG tests."""

    def __init__(self, emulator: DataWorksEmulator, conn_id: str, workspace: dict[str, Any] | None) -> None:
        self.emulator = emulator
        self.conn_id = conn_id
        self._workspace = workspace

    def __getattr__(self, name: str) -> Any:
        return getattr(self.emulator, name)

    # ------------------------------------------------------------------ connection
    def connection(self, workspace: int | None = None, **extra: Any) -> str:
        """A connection to the emulator, as ``AIRFLOW_CONN_*`` JSON: the fixture's workspace, or ``workspace``."""
        ws = self._workspace_spec(workspace)
        extras: dict[str, Any] = {"endpoint": self.emulator.endpoint}
        if ws is not None:
            extras |= {"region_id": ws.get("region", "cn-hangzhou"), "project_id": int(ws["id"])}
            if ws.get("timezone"):
                extras["timezone"] = ws["timezone"]
        else:
            extras["region_id"] = "cn-hangzhou"
        extras |= {k: v for k, v in extra.items() if v is not None}
        return json.dumps(
            {
                "conn_type": "dataworks",
                "login": self.emulator.access_key_id,
                "password": self.emulator.access_key_secret,
                "extra": extras,
            }
        )

    def _workspace_spec(self, workspace: int | None) -> dict[str, Any] | None:
        if workspace is None or (self._workspace and int(self._workspace["id"]) == workspace):
            return self._workspace
        ws = self.emulator.backend.workspace(workspace)
        return {"id": ws.id, "region": ws.region, "timezone": ws.timezone}

    # ------------------------------------------------------------------ calls
    def trigger_calls(self) -> list[Any]:
        """The ``TriggerSchedulerTaskInstance`` calls received (``params["TaskId"]``, ``params["TriggerTime"]``)."""
        return self.emulator.calls_of("TriggerSchedulerTaskInstance")

    def trigger_times(self, task_id: int | None = None) -> list[int]:
        """The TriggerTime (epoch ms) of each trigger call, of ``task_id`` or of every node, in order."""
        return [
            int(c.params["TriggerTime"])
            for c in self.trigger_calls()
            if task_id is None or int(c.params["TaskId"]) == task_id
        ]

    # ------------------------------------------------------------------ waiting
    def wait_until(self, condition: Callable[[], Any], what: str, timeout: float = 120.0) -> Any:
        """Wait until ``condition()`` is true and return it; raise :class:`FrozenClockError` at once when the clock is
        frozen (nothing would move), or ``TimeoutError`` after ``timeout`` real seconds, naming ``what``."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if self.emulator.clock.frozen:
                raise FrozenClockError(
                    f"waiting for {what}, but the emulator's clock is frozen at {self.emulator.clock.now().isoformat()}"
                    ": instances never start or finish on a frozen clock. Call emu.clock.unfreeze() (the fixture then "
                    "runs it fast), or emu.clock.set(...) / advance(...) to move it."
                )
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        raise TimeoutError(f"{what}: not true after {timeout:g} s (emulated clock at {self.emulator.clock.now()})")

    # ------------------------------------------------------------------ running a DAG
    def run_dag(self, dag: Any, logical_date: datetime | str, dag_id: str | None = None, **kwargs: Any) -> Any:
        """Run ``dag`` (a DAG, or the path of a DAG file: its DAG ``dag_id``, or its only one) with ``dag.test()`` for
        ``logical_date`` (aware, or ISO-8601 with an offset) and return the DagRun.

        Fails loudly, instead of "succeeding" with no call: a date before the DAG's start date, or a run that executed
        no task; a frozen emulator clock while a task waits for DataWorks.
        """
        import pendulum

        if isinstance(dag, (str, Path)):
            dag = load_dag(dag, dag_id)
        moment = pendulum.parse(logical_date) if isinstance(logical_date, str) else pendulum.instance(logical_date)
        if not isinstance(moment, datetime) or moment.tzinfo is None:
            raise DataWorksTestError(f"logical_date {logical_date!r}: give an aware time (with an offset or a zone)")
        start = getattr(dag, "start_date", None)
        if start is not None and moment < start:
            raise NoTaskRanError(
                f"logical date {moment.isoformat()} is before DAG {dag.dag_id!r}'s start_date {start.isoformat()}: "
                "dag.test() would run no task and report success. Use a date on or after the start date."
            )
        waiting = [t.task_id for t in dag.tasks if _waits_for_dataworks(t)]
        if waiting and self.emulator.clock.frozen:
            raise FrozenClockError(
                f"the emulator's clock is frozen at {self.emulator.clock.now().isoformat()} and {waiting} wait for "
                "DataWorks: on a frozen clock the instances never finish and dag.test() would wait for ever. Call "
                "emu.clock.unfreeze() (the fixture then runs the clock fast) or move it with emu.clock.set(...)."
            )
        run = _dag_test(dag, moment, **kwargs)
        ran = {ti.task_id: ti.state for ti in _task_instances(run) if ti.state not in (None, "removed")}
        if not ran:
            raise NoTaskRanError(
                f"dag.test() of DAG {dag.dag_id!r} for {moment.isoformat()} ran no task (run state {run.state}): "
                "nothing was tested. Is the date within the DAG's start_date / end_date?"
            )
        return run


def _waits_for_dataworks(task: Any) -> bool:
    """A DataWorks operator that waits, or a DataWorks sensor (by their attributes)."""
    if getattr(task, "wait_for_completion", False) and hasattr(task, "dataworks_task_id"):
        return True
    return hasattr(task, "instance_id") and hasattr(task, "dataworks_task_id") and hasattr(task, "poke")


def load_dag(path: str | Path, dag_id: str | None = None) -> Any:
    """The DAG ``dag_id`` (or the only DAG) of the DAG file ``path``; an import error fails with its traceback."""
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2.x
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

    bag = DagBag(str(path))
    if bag.import_errors:
        raise DataWorksTestError(f"{path} failed to import: {bag.import_errors}")
    if dag_id is None:
        if len(bag.dags) != 1:
            raise DataWorksTestError(f"{path} has {len(bag.dags)} DAGs ({sorted(bag.dags)}): name one with dag_id")
        return next(iter(bag.dags.values()))
    if dag_id not in bag.dags:
        raise DataWorksTestError(f"{path} has no DAG {dag_id!r} (it has {sorted(bag.dags)})")
    return bag.dags[dag_id]


def _dag_test(dag: Any, logical_date: datetime, **kwargs: Any) -> Any:
    from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_0_PLUS

    if AIRFLOW_V_3_0_PLUS:
        with _in_dags_folder(dag):
            return dag.test(logical_date=logical_date, **kwargs)
    # Airflow 2.x: dag.test() of a date that already ran clears that run, which needs tables a plain SQLite DB
    # may lack; start this DAG from no runs instead.
    from airflow.models import DagRun, TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(TaskInstance).filter(TaskInstance.dag_id == dag.dag_id).delete()
        session.query(DagRun).filter(DagRun.dag_id == dag.dag_id).delete()
    return dag.test(execution_date=logical_date, **kwargs)


@contextmanager
def _in_dags_folder(dag: Any) -> Iterator[None]:
    """Airflow 3's ``dag.test()`` stores the DAG through its bundle, the dags folder: a DAG file elsewhere (your
    repository's ``dags/`` while ``[core] dags_folder`` is not set to it) is tested with the dags folder set to its
    folder for the run."""
    from airflow import settings

    fileloc = Path(getattr(dag, "fileloc", "") or "")
    folder = Path(settings.DAGS_FOLDER).resolve()
    if not fileloc.is_file() or folder in fileloc.resolve().parents:
        yield
        return
    saved = settings.DAGS_FOLDER
    settings.DAGS_FOLDER = str(fileloc.resolve().parent)  # what the dags-folder bundle reads
    try:
        yield
    finally:
        settings.DAGS_FOLDER = saved


def _task_instances(run: Any) -> list[Any]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return list(run.get_task_instances(session=session))


#: Reads a wait makes; this many of them on a frozen clock, and the clock thread explains why nothing moves.
POLL_ACTIONS = frozenset({"GetTaskInstance", "ListTaskInstances", "GetWorkflowInstance", "ListDownstreamTaskInstances"})
FROZEN_POLLS_BEFORE_WARNING = 3
log = logging.getLogger(__name__)


def frozen_clock_message(emulator: DataWorksEmulator, polls: int) -> str:
    return (
        f"the emulator's clock is frozen at {emulator.clock.now().isoformat()} and a client has polled it {polls} "
        "times since: instances never start or finish on a frozen clock, so a wait for them never ends. Call "
        "emu.clock.unfreeze() (the dataworks_emulator fixture then runs it fast) or move it with emu.clock.set(...)."
    )


def _advance_unless_frozen(clock: Any, step: timedelta) -> None:
    """Move a running clock by ``step``; leave a frozen one alone, even one frozen while we move it.

    ``EmulatorClock.advance`` reads the time, then sets it: a ``freeze(at)`` between the two would be overwritten by
    our later moment. Under the clock's own lock the check and the move are one step (no public call does that yet).
    """
    lock, offset = getattr(clock, "_lock", None), getattr(clock, "_offset", None)
    if lock is None or not isinstance(offset, timedelta) or not hasattr(clock, "_frozen_at"):
        if not clock.frozen:  # another clock: its own advance (the race above is possible there)
            clock.advance(step)
        return
    with lock:
        if clock._frozen_at is None:
            clock._offset += step


@contextmanager
def clock_running(emulator: DataWorksEmulator, speed: float) -> Iterator[None]:
    """Inside the block, move the emulated clock ``speed`` emulated seconds per real second. A frozen clock stays
    frozen; when waits keep polling it, a warning says why nothing moves (logged, and on the real stderr)."""
    stop = threading.Event()
    step = timedelta(seconds=speed * TICK_SECONDS)

    def tick() -> None:
        running_calls = 0  # calls in the log when the clock was last seen running
        frozen_since: int | None = None  # ... when it was first seen frozen
        warned = False
        while not stop.wait(TICK_SECONDS):
            calls = emulator.calls
            if not emulator.clock.frozen:
                running_calls, frozen_since, warned = len(calls), None, False
                if speed > 0:
                    _advance_unless_frozen(emulator.clock, step)
                continue
            if frozen_since is None:
                frozen_since = running_calls
            polls = sum(c.action in POLL_ACTIONS for c in calls[frozen_since:])
            if polls >= FROZEN_POLLS_BEFORE_WARNING and not warned:
                warned = True
                message = frozen_clock_message(emulator, polls)
                print(f"airflow_provider_dataworks.testing: {message}", file=sys.__stderr__, flush=True)
                with suppress(Exception):  # a logging set-up a DAG run left behind (a closed stream): printed above
                    log.warning("%s", message)

    thread = threading.Thread(target=tick, name="dataworks-emulator-clock", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        if thread.is_alive():
            thread.join()


def _scenario(scenario: dict[str, Any] | str | Path | None) -> dict[str, Any]:
    if scenario is None:
        return DEMO_SPEC
    if isinstance(scenario, (str, Path)):
        return load_spec_file(scenario)
    return dict(scenario)


@pytest.fixture
def dataworks_emulator(
    dataworks_airflow_db: str,
    dataworks_scenario: dict[str, Any] | str | Path | None,
    dataworks_conn_id: str,
    dataworks_clock_speed: float,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[EmulatedDataWorks]:
    """The emulator with your scenario, connection ``dataworks_conn_id`` pointing at it, the clock running fast."""
    for name in _PROXY_VARIABLES:  # the SDK honours HTTP(S)_PROXY and not NO_PROXY: loopback calls must go direct
        monkeypatch.delenv(name, raising=False)
    spec = _scenario(dataworks_scenario)
    workspaces = spec.get("workspaces") or []
    with DataWorksEmulator() as emulator:
        emulator.load_spec(spec)
        emu = EmulatedDataWorks(emulator, dataworks_conn_id, dict(workspaces[0]) if workspaces else None)
        monkeypatch.setenv(f"AIRFLOW_CONN_{dataworks_conn_id.upper()}", emu.connection())
        with clock_running(emulator, dataworks_clock_speed):
            yield emu
