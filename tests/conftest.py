"""Shared fixtures: a real emulator on loopback, a real Airflow metadata DB (SQLite), real dag.test() runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

# Before anything imports the SDK or Airflow (shared docs §4).
os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
for _proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_proxy, None)
_HOME = Path(tempfile.mkdtemp(prefix="airflow-home-"))
_HOME_OWNER = os.getpid()  # forked and spawned workers must not remove the session's home
(_HOME / "dags").mkdir()
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_HOME / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME}/airflow.db"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"

import pendulum  # noqa: E402
import pytest  # noqa: E402

from airflow_provider_dataworks.emulator import DataWorksEmulator  # noqa: E402

#: 2026-11-25 00:30 Asia/Shanghai, the demo node's instance of that day.
SHANGHAI_0030 = datetime(2026, 11, 24, 16, 30, tzinfo=timezone.utc)
RELEASE, UPSTREAM, LOAD_A, LOAD_B = 700001, 700000, 700002, 700003
WORKSPACE = 1001


#: The checkout's root, and the tiers: each test is marked with its folder's name (``pytest -m unit``).
ROOT = Path(__file__).resolve().parent.parent
TIERS = ("unit", "emulator", "integration", "reliability", "system")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = item.path.relative_to(ROOT / "tests").parts[0]
        if tier not in TIERS:
            raise pytest.UsageError(f"{item.nodeid}: a test lives in one of tests/{{{','.join(TIERS)}}}/")
        item.add_marker(tier)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.getpid() == _HOME_OWNER:
        shutil.rmtree(_HOME, ignore_errors=True)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


T = ms(SHANGHAI_0030)
RUN_DATE = pendulum.datetime(2026, 11, 25, 0, 30, tz="Asia/Shanghai")


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated SQLite metadata DB for the session (dag.test() needs one)."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True, timeout=300)
    return _HOME


@pytest.fixture
def emulator() -> Iterator[DataWorksEmulator]:
    """Workspace 1001 (cn-hangzhou): upstream 700000 (00:00) -> HTTP trigger 700001 (00:30) -> 700002, 700003.

    The clock is frozen at 2026-11-25 00:31 Asia/Shanghai: the 00:30 instance waits for its trigger.
    """
    with DataWorksEmulator() as emu:
        ws = emu.add_workspace(WORKSPACE, "cn-hangzhou", name="ws")
        emu.add_task(ws, UPSTREAM, "upstream", cron="0 0 * * *", duration=timedelta(minutes=2))
        emu.add_task(ws, RELEASE, "release", http_trigger=True, cron="30 0 * * *", upstream=[UPSTREAM])
        emu.add_task(ws, LOAD_A, "load_a", cron="30 0 * * *", upstream=[RELEASE], duration=timedelta(minutes=5))
        emu.add_task(ws, LOAD_B, "load_b", cron="30 0 * * *", upstream=[RELEASE], duration=timedelta(minutes=3))
        emu.clock.freeze(SHANGHAI_0030 + timedelta(minutes=1))
        yield emu


@contextmanager
def clock_running(
    emu: DataWorksEmulator, step: timedelta, every_seconds: float, after_first: str | None = None
) -> Iterator[None]:
    """Move the emulated clock by ``step`` every ``every_seconds`` of real time inside the block; with
    ``after_first`` (an action), only from the first such call on, however long a busy machine takes to get there."""
    stop = threading.Event()

    def tick() -> None:
        while after_first and not emu.calls_of(after_first) and not stop.wait(0.05):
            pass
        while not stop.wait(every_seconds):
            emu.clock.advance(step)

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@pytest.fixture
def ticking(emulator: DataWorksEmulator) -> Iterator[None]:
    """Move the emulated clock 1 minute every 0.1 s of real time while the DAG runs."""
    with clock_running(emulator, timedelta(minutes=1), 0.1):
        yield


def connection_json(emu: DataWorksEmulator, **extra: Any) -> str:
    extras = {"endpoint": emu.endpoint, "region_id": "cn-hangzhou", "project_id": WORKSPACE, **extra}
    extras = {k: v for k, v in extras.items() if v is not None}
    return json.dumps(
        {"conn_type": "dataworks", "login": emu.access_key_id, "password": emu.access_key_secret, "extra": extras}
    )


@pytest.fixture
def dataworks_conn(emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """``dataworks_default`` pointing at the emulator (an AIRFLOW_CONN_ variable, as users set it)."""
    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", connection_json(emulator, retry_limit=3))
    return "dataworks_default"


DAG_TEMPLATE = """
import pendulum
from airflow.providers.common.compat.sdk import DAG
from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator
from airflow_provider_dataworks.sensors.dataworks import DataWorksTaskInstanceSensor
with DAG("{dag_id}", schedule={schedule!r}, start_date=pendulum.datetime(2026, 1, 1, tz={tz!r}), catchup=False):
    {body}
"""


def dag_source(dag_id: str, body: str, schedule: str = "30 0 * * *", tz: str = "Asia/Shanghai") -> str:
    return DAG_TEMPLATE.format(dag_id=dag_id, body=body, schedule=schedule, tz=tz)


def run_dag(source: str, dag_id: str, logical_date: datetime | None, **kwargs: Any) -> Any:
    """Write a DAG file into the dags folder and run it with dag.test(); returns the DagRun."""
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2.x
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

    path = _HOME / "dags" / f"{dag_id}.py"
    path.write_text(textwrap.dedent(source))
    from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

    dag = DagBag(str(path)).get_dag(dag_id)
    assert dag is not None, f"{dag_id} did not load"
    if AIRFLOW_V_3_0_PLUS:
        return dag.test(logical_date=logical_date, **kwargs)
    # Airflow 2.x: dag.test() of a date that already ran clears that run, which needs the FAB user table
    # this SQLite DB lacks; every test starts from no runs instead.
    from airflow.models import DagRun, TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(TaskInstance).filter(TaskInstance.dag_id == dag_id).delete()
        session.query(DagRun).filter(DagRun.dag_id == dag_id).delete()
    return dag.test(execution_date=logical_date, **kwargs)


def task_states(dag_run: Any) -> dict[str, str]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances(session=session)}


def write_generated_doc(
    path: Path,
    generator: str,
    title: str,
    intro: list[str],
    columns: list[str],
    rows: list[list[str]],
    outro: list[str] | None = None,
) -> None:
    """A markdown page with one table, written by the test module (``generator``) that produced its rows.

    Only ``make test`` (Airflow 3) writes it; ``make test-airflow2`` leaves the tracked page alone.
    """
    from airflow import __version__ as airflow_version

    from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_0_PLUS

    if not AIRFLOW_V_3_0_PLUS:
        return
    source = Path(generator).resolve().relative_to(ROOT).as_posix()
    lines = [f"# {title}", "", f"Generated by `{source}` (run by `make test`); do not edit by hand."]
    lines += [f"Produced on Airflow {airflow_version}, Python {sys.version.split()[0]}.", "", *intro, ""]
    lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    if outro:
        lines += ["", *outro]
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


#: The real Airflow 3 stack's DAGs (tests/system/test_e2e_*.py).
EXAMPLES = ROOT / "example_dags"
TRIGGER_ONLY, WAIT_WORKFLOW = "example_dataworks_trigger", "example_dataworks_wait_workflow"
FILE_DRIVEN = "example_dataworks_file_driven"  # its CSV is copied next to it
UI_CONNECTION_DAG = "e2e_ui_connection"  # uses the connection the browser test saves in the UI
ROLE_DAG, ROLE_ARN = "e2e_role_connection", "acs:ram::1234567890123456:role/airflow-e2e"  # dataworks_role
CONN_SOURCES_FILE = "e2e_conn_sources"  # e2e_conn_database (dataworks_db), e2e_conn_secrets_file (dataworks_file)
CONN_DATABASE_DAG, CONN_SECRETS_FILE_DAG = "e2e_conn_database", "e2e_conn_secrets_file"


@pytest.fixture(scope="session")
def airflow_stack() -> Iterator[Any]:
    """Emulator (demo workspace) + api-server, dag-processor, scheduler, triggerer; ``dataworks_default`` is STS,
    ``dataworks_role`` assumes a RAM role (the emulator plays STS).

    Every component and task logs at DEBUG. One stack for the end-to-end modules: each scenario uses its own
    DAG or dates. Unpaused DAGs also get their latest scheduled run (catchup=False); the assertions count it
    explicitly.
    """
    from airflow_provider_dataworks.emulator import DEMO_SPEC
    from devtools.airflow_stack import AirflowStack

    files = [
        EXAMPLES / f"{TRIGGER_ONLY}.py",
        EXAMPLES / f"{WAIT_WORKFLOW}.py",
        EXAMPLES / f"{FILE_DRIVEN}.py",
        EXAMPLES / f"{FILE_DRIVEN}.csv",
        Path(__file__).parent / "dags" / f"{UI_CONNECTION_DAG}.py",
        Path(__file__).parent / "dags" / f"{ROLE_DAG}.py",
        Path(__file__).parent / "dags" / f"{CONN_SOURCES_FILE}.py",
    ]
    with AirflowStack(files, DEMO_SPEC, sts=True, role_arn=ROLE_ARN, log_level="DEBUG") as stack:
        stack.wait_parsed([TRIGGER_ONLY, WAIT_WORKFLOW, FILE_DRIVEN, UI_CONNECTION_DAG, ROLE_DAG])
        stack.wait_parsed([CONN_DATABASE_DAG, CONN_SECRETS_FILE_DAG])
        yield stack
