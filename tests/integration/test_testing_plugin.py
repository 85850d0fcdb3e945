"""The opt-in pytest plugin ``airflow_provider_dataworks.testing`` (issue 28): testing your DAGs, as shown, works.

The docs' example test file runs as written with pytest in a subprocess, in a fresh AIRFLOW_HOME whose database
nobody migrated; then the plugin's guard rails in this process: a frozen clock is refused, a date before the start
date fails loudly, the scenario and connection id are the test's own, and the clock runs fast.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pendulum
import pytest

if TYPE_CHECKING:  # imported by pytest_plugins (an earlier import would skip pytest's assertion rewriting)
    from airflow_provider_dataworks.testing import EmulatedDataWorks

pytest_plugins = ["airflow_provider_dataworks.testing"]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "test_my_dataworks_dag.py"
EXAMPLES = ROOT / "example_dags"
RUN = pendulum.datetime(2026, 11, 25, 0, 30, tz="Asia/Shanghai")
T = 1795537800000  # RUN in epoch ms


def fresh_env(home: Path) -> dict[str, str]:
    """This process's environment without its Airflow settings (the session's home, dags folder, database)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "HTTP_PROXY", "HTTPS_PROXY"))}
    env |= {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    env.pop("ALIBABA_CLOUD_ECS_METADATA_DISABLED", None)  # the plugin sets it
    return env


def test_the_docs_example_runs_as_written_in_a_fresh_airflow_home(tmp_path: Path) -> None:
    home = tmp_path / "airflow-home"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error::pytest.PytestWarning",
         EXAMPLE.name],
        cwd=EXAMPLE.parent, env=fresh_env(home), capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "3 passed" in done.stdout.splitlines()[-1], done.stdout[-2000:]
    with sqlite3.connect(home / "airflow.db") as db:  # the plugin migrated the new home's database
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"task_instance", "dag_run", "alembic_version"} <= tables
        runs = db.execute("SELECT dag_id, state FROM dag_run").fetchall()
    assert ("example_dataworks_wait_workflow", "success") in runs


# ------------------------------------------------------------------------------------------------ in this process
SCENARIO = """
workspaces:
  - id: 4242
    region: cn-shanghai
    tasks:
      - {id: 810000, name: upstream, cron: "0 0 * * *", duration_seconds: 60}
      - {id: 810001, name: release, http_trigger: true, cron: "30 0 * * *", upstream: [810000]}
      - {id: 810002, name: load, cron: "30 0 * * *", upstream: [810001], duration_seconds: 1800}
"""


@pytest.fixture
def dataworks_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture
def dataworks_conn_id() -> str:
    return "my_dataworks"


def test_the_docs_include_the_testing_example_by_file() -> None:
    """The site's testing how-to includes the file the test above runs (a snippet, not a copy that can drift; the
    strict build fails if the file moves), and the README carries no copy of it."""
    page = (ROOT / "docs" / "how-to" / "test-with-the-emulator.md").read_text().splitlines()
    at = page.index('--8<-- "docs/examples/test_my_dataworks_dag.py"')
    assert page[at - 1] == "```python" and page[at + 1] == "```"
    assert "def test_" not in (ROOT / "README.md").read_text()


def test_the_fixture_plays_the_test_s_scenario_on_its_connection(dataworks_emulator: EmulatedDataWorks) -> None:
    import json

    conn = json.loads(os.environ["AIRFLOW_CONN_MY_DATAWORKS"])
    assert conn["extra"] == {"endpoint": dataworks_emulator.endpoint, "region_id": "cn-shanghai", "project_id": 4242}
    assert conn["login"] == dataworks_emulator.access_key_id
    from airflow_provider_dataworks.hooks.dataworks import DataWorksHook

    task = DataWorksHook(dataworks_conn_id="my_dataworks").get_task(810001)
    assert (task.project_id, task.name) == (4242, "release")
    assert [c.action for c in dataworks_emulator.calls] == ["GetTask"]


def test_the_clock_runs_fast_so_durations_pass(dataworks_emulator: EmulatedDataWorks) -> None:
    """The upstream node's 60-second run of a coming midnight finishes while the test waits on that condition."""
    emu = dataworks_emulator
    day = pendulum.instance(emu.clock.now()).in_timezone("Asia/Shanghai").date().add(days=2)  # deployed before it
    midnight_at = pendulum.datetime(day.year, day.month, day.day, tz="Asia/Shanghai")
    emu.clock.set(midnight_at.subtract(seconds=10))  # running, not frozen
    midnight = int(midnight_at.timestamp() * 1000)

    def upstream_status() -> str:
        return emu.instance_of(810000, midnight).status.value

    assert upstream_status() != "Success"
    emu.wait_until(lambda: upstream_status() == "Success", "the upstream node's run to finish")
    assert emu.clock.now() > midnight_at.add(minutes=1)


def test_a_frozen_clock_is_refused_not_a_hang(dataworks_emulator: EmulatedDataWorks, tmp_path: Path) -> None:
    from airflow_provider_dataworks.testing import FrozenClockError

    emu = dataworks_emulator
    emu.clock.freeze(RUN.add(minutes=1))  # what the README's old snippet did
    dag_file = tmp_path / "waits.py"
    dag_file.write_text(
        (EXAMPLES / "example_dataworks_wait_workflow.py")
        .read_text()
        .replace("example_dataworks_wait_workflow", "waits_on_frozen")
        .replace("dataworks_task_id=700001", "dataworks_task_id=810001, dataworks_conn_id='my_dataworks'")
    )
    with pytest.raises(
        FrozenClockError, match=r"clock is frozen at 2026-11-24T16:31:00\+00:00 and \['release_and_wait'\]"
    ):
        emu.run_dag(dag_file, RUN)
    with pytest.raises(FrozenClockError, match="waiting for the load to finish, but the emulator's clock is frozen"):
        emu.wait_until(lambda: False, "the load to finish")
    assert emu.calls == []  # refused before anything ran


def test_a_date_before_the_start_date_fails_loudly(dataworks_emulator: EmulatedDataWorks) -> None:
    from airflow_provider_dataworks.testing import NoTaskRanError

    before = pendulum.datetime(2026, 10, 25, 0, 30, tz="Asia/Shanghai")
    with pytest.raises(NoTaskRanError, match="before DAG 'example_dataworks_trigger''s start_date 2026-10-31T16:00:00"):
        dataworks_emulator.run_dag(EXAMPLES / "example_dataworks_trigger.py", before)
    assert dataworks_emulator.calls == []


def test_waits_polling_a_frozen_clock_are_told_why_nothing_moves(
    dataworks_emulator: EmulatedDataWorks, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain dag.test() (not emu.run_dag) on a frozen clock would wait for ever: its polls get a warning, on the
    real stderr (pytest shows it live with -s) and in the log."""
    from airflow_provider_dataworks.hooks.dataworks import DataWorksHook
    from airflow_provider_dataworks.testing import FROZEN_POLLS_BEFORE_WARNING

    emu = dataworks_emulator
    looks = [0]  # how often the clock thread has read the call log (it counts the polls from it)
    read_the_log = type(emu.emulator).calls

    def calls(self: object) -> object:
        if threading.current_thread().name == "dataworks-emulator-clock":
            looks[0] += 1
        return read_the_log.fget(self)

    monkeypatch.setattr(type(emu.emulator), "calls", property(calls))
    emu.clock.freeze(RUN.add(minutes=1))
    instance = emu.instance_of(810001, T)
    hook = DataWorksHook(dataworks_conn_id="my_dataworks")
    warned = "the emulator's clock is frozen at 2026-11-24T16:31:00+00:00 and a client has polled it 3 times since"
    err = ""
    for _ in range(FROZEN_POLLS_BEFORE_WARNING - 1):
        hook.get_instance(instance.id)
    # below the threshold it stays quiet: wait until the clock thread has looked at the log twice after those polls
    # (the first look may have begun before the last poll; the second begins once the first one is done)
    after = looks[0]
    for _ in range(2000):
        if looks[0] >= after + 2:
            break
        time.sleep(0.01)
    assert looks[0] >= after + 2, "the clock thread stopped looking at the call log"
    err += capfd.readouterr().err
    assert warned not in err
    hook.get_instance(instance.id)
    for _ in range(2000):  # wait on the warning, not on a time
        err += capfd.readouterr().err
        if warned in err:
            break
        time.sleep(0.05)
    assert f"airflow_provider_dataworks.testing: {warned}: instances never start or finish" in err
