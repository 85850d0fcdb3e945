"""The README's walkthrough, read from the README and run as written, in a given Airflow's ``bin`` (the main
virtualenv: tests/integration/test_readme_walkthrough.py; the built wheel's: tests/system/test_wheel_smoke.py).

The README marks its two fenced blocks with ``<!-- walkthrough: emulator -->`` (the first terminal) and
``<!-- walkthrough: airflow -->`` (the second); both run in a temporary directory holding a copy of
``example_dags/``, as in a checkout, with a temporary ``AIRFLOW_HOME`` and nothing of the test's Airflow settings.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pendulum
import pytest

from airflow_provider_dataworks.domain.timing import resolve_trigger_time
from airflow_provider_dataworks.emulator import EmulatorControl

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
EMULATOR_PORT = 8765  # the port the README's commands name
#: The last line the emulator CLI prints (after the connection, its nodes and dates).
LAST_LINE = "# A DAG on the node's cron"


def block(name: str) -> str:
    """The fenced ``bash`` block after ``<!-- walkthrough: name -->`` in the README."""
    found = re.findall(rf"<!-- walkthrough: {name} -->\s*```bash\n(.*?)```", README.read_text(), re.DOTALL)
    assert len(found) == 1, f"README.md needs one ```bash block after <!-- walkthrough: {name} -->"
    return found[0]


def workdir(tmp: Path) -> Path:
    """A directory laid out like the checkout for the walkthrough: ``example_dags/`` (the package is installed)."""
    shutil.copytree(ROOT / "example_dags", tmp / "example_dags", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp


def clean_env(bin_dir: Path, airflow_home: Path) -> dict[str, str]:
    """The environment of a new shell: ``bin_dir`` first on PATH, a fresh AIRFLOW_HOME, no AIRFLOW_* settings
    (the test session's point at its own database and DAGs folder), no proxies."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW") and "proxy" not in k.lower()}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", AIRFLOW_HOME=str(airflow_home))
    env.pop("VIRTUAL_ENV", None)
    return env


@contextmanager
def emulator_running(env: dict[str, str], cwd: Path) -> Iterator[list[str]]:
    """The README's emulator block in the background; yields the lines it printed once it serves.

    Suites that run side by side (CI's lanes: Airflow 3.3, 2.11, the built wheel) take turns at the README's port:
    a file lock is held for as long as the walkthrough's emulator runs."""
    with open(Path(tempfile.gettempdir()) / f"dataworks-walkthrough-{EMULATOR_PORT}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with _emulator_process(env, cwd) as lines:
            yield lines


@contextmanager
def _emulator_process(env: dict[str, str], cwd: Path) -> Iterator[list[str]]:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", EMULATOR_PORT)) == 0:
            pytest.fail(f"port {EMULATOR_PORT}, which the README's walkthrough uses, is taken: stop what listens there")
    with open(cwd / "emulator.stderr", "w") as stderr:
        proc = subprocess.Popen(["bash", "-euo", "pipefail", "-c", block("emulator")], stdout=subprocess.PIPE,
                                stderr=stderr, text=True, env=env, cwd=cwd, start_new_session=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith(LAST_LINE):
            line = proc.stdout.readline()
            assert line, f"the emulator stopped: {lines} {(cwd / 'emulator.stderr').read_text()}"
            lines.append(line.rstrip("\n"))
        yield lines
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


def run_airflow_block(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The README's Airflow block in a shell that stops at the first failing command."""
    return subprocess.run(["bash", "-euo", "pipefail", "-c", block("airflow")], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=1200)  # fmt: skip


def check_walkthrough(printed: list[str], done: subprocess.CompletedProcess[str]) -> None:
    """The README pastes the connection line the emulator printed; its ``airflow dags test`` succeeded and
    released, once, the instance its logical date names (read as the operator reads a manual run's date)."""
    uri_export = next(line for line in printed if line.startswith("export AIRFLOW_CONN_DATAWORKS_DEFAULT='dataworks:"))
    assert uri_export in block("airflow").splitlines(), "the README's export line is not what the emulator prints"
    assert done.returncode == 0, f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    (dag_test,) = re.findall(r"^airflow dags test (\S+) (\S+)$", block("airflow"), re.MULTILINE)
    context = {"logical_date": pendulum.parse(dag_test[1]), "dag_run": SimpleNamespace(run_type="manual")}
    trigger_time_ms, _ = resolve_trigger_time(None, context, "Asia/Shanghai")
    control = EmulatorControl(f"http://127.0.0.1:{EMULATOR_PORT}")
    (instance,) = [i for i in control.instances(700001) if i["TriggerTime"] == trigger_time_ms]
    assert (instance["Status"], instance["Releases"]) == ("Success", 1)
    assert control.workflow_instance(instance["WorkflowInstanceId"])["Status"] == "Success"
