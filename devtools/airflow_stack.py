"""A real Airflow 3 deployment on one machine, for the demo and the end-to-end tests.

The emulator (``dataworks-emulator``) and Airflow's api-server, dag-processor, scheduler and triggerer run as
separate processes, LocalExecutor on SQLite, in a temporary AIRFLOW_HOME, started in order and each waited
for (the api-server must answer before tasks run: workers call its execution API). ``stop()`` ends all.
Connections: ``AIRFLOW_CONN_*`` variables, the metadata database, and a secrets backend every component reads
(``connections_file``, Airflow's local-filesystem backend).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from airflow_provider_dataworks.emulator.control import EmulatorControl

BIN = Path(sys.executable).parent
COMPONENTS = ("api-server", "dag-processor", "scheduler", "triggerer")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Any, what: str, timeout: float, interval: float = 0.5) -> Any:
    """Call ``check`` until it returns something truthy; raise TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except Exception:  # not up yet
            result = None
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s")


class AirflowStack:
    """Emulator + Airflow 3 (api-server, dag-processor, scheduler, triggerer) on loopback ports."""

    def __init__(
        self,
        dag_files: Iterable[Path],
        spec: dict[str, Any],
        *,
        home: Path | None = None,
        sts: bool = False,
        role_arn: str | None = None,
        log_level: str = "INFO",
    ) -> None:
        """``sts``: the ``dataworks_default`` connection uses STS credentials (id, secret and security token).
        ``role_arn``: the emulated STS has this RAM role, and ``dataworks_role`` assumes it with the AccessKey.
        ``log_level``: every component's and task's (the tests run DEBUG: secrets must not leak even then)."""
        self.home = home or Path(tempfile.mkdtemp(prefix="airflow-stack-"))
        self.dags = self.home / "dags"
        self.dags.mkdir(parents=True, exist_ok=True)
        for path in dag_files:
            shutil.copy(path, self.dags / Path(path).name)
        self.spec = {**spec, "roles": [*spec.get("roles", []), role_arn]} if role_arn else spec
        self.sts = sts
        self.role_arn = role_arn
        self.log_level = log_level
        self.api_port = free_port()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        #: Every component's secrets backend (Airflow's LocalFilesystemBackend, read at each lookup); empty at
        #: first: a test writes the connections it needs ``{conn_id: {...}}``; AIRFLOW_CONN_* and the DB still work.
        self.connections_file = self.home / "connections.json"
        if not self.connections_file.exists():
            self.connections_file.write_text("{}")
        self.emulator: dict[str, Any] = {}
        self.env: dict[str, str] = {}

    # ------------------------------------------------------------------------------------ start/stop
    def start(self) -> AirflowStack:
        self._start_emulator()
        self.env = self._airflow_env()
        subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=self.env, check=True, capture_output=True)
        self.start_component("api-server")
        wait_for(self._api_healthy, "api-server", 120)
        for name in ("dag-processor", "scheduler", "triggerer"):
            self.start_component(name)
        return self

    def _start_emulator(self) -> None:
        spec_file, info_file = self.home / "emulator-spec.json", self.home / "emulator.json"
        spec_file.write_text(json.dumps(self.spec))
        log = open(self.home / "emulator.log", "wb")  # noqa: SIM115 - lives as long as the process
        self.processes["emulator"] = subprocess.Popen(
            [str(BIN / "dataworks-emulator"), "--spec", str(spec_file), "--info-file", str(info_file)]
            + (["--sts"] if self.sts else []),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_clean_env(),
            start_new_session=True,
        )
        self.emulator = wait_for(lambda: json.loads(info_file.read_text()), "emulator", 30)
        self.control = EmulatorControl(self.emulator["endpoint"])

    @property
    def secrets(self) -> list[str]:
        """The values that must never show up anywhere: AccessKey secrets, STS tokens, the temporary keys the
        emulated STS has handed out so far (asked from the emulator each time)."""
        found = [self.emulator["access_key_secret"]]
        if "sts" in self.emulator:
            found += [self.emulator["sts"]["access_key_secret"], self.emulator["sts"]["security_token"]]
        for key in self.control.issued_keys():
            found += [key["AccessKeySecret"], key["SecurityToken"]]
        return found

    def connection(self) -> dict[str, Any]:
        """The ``dataworks_default`` connection (Airflow's JSON form) pointing at the emulator."""
        extra: dict[str, Any] = {"endpoint": self.emulator["endpoint"], "region_id": "cn-hangzhou", "project_id": 1001}
        keys = self.emulator.get("sts", self.emulator)
        if self.sts:
            extra |= {"auth_type": "sts", "security_token": keys["security_token"]}
        return {
            "conn_type": "dataworks",
            "login": keys["access_key_id"],
            "password": keys["access_key_secret"],
            "extra": extra,
        }

    def role_connection(self) -> dict[str, Any]:
        """``dataworks_role``: assumes ``role_arn`` with the emulator's AccessKey; the emulator is also its STS."""
        endpoint = self.emulator["endpoint"]
        return {
            "conn_type": "dataworks",
            "login": self.emulator["access_key_id"],
            "password": self.emulator["access_key_secret"],
            "extra": {"endpoint": endpoint, "sts_endpoint": endpoint, "region_id": "cn-hangzhou", "project_id": 1001,
                      "auth_type": "ram_role_arn", "role_arn": self.role_arn},
        }  # fmt: skip

    def _airflow_env(self) -> dict[str, str]:
        conn = self.connection()
        roles = {"AIRFLOW_CONN_DATAWORKS_ROLE": json.dumps(self.role_connection())} if self.role_arn else {}
        return {
            **_clean_env(),
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": self.log_level,
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.api_port}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            # Wait up to 60 s for another component's write lock (the driver's default is 5 s).
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home}/airflow.db?timeout=60",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{self.api_port}",
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__SECRETS__BACKEND": "airflow.secrets.local_filesystem.LocalFilesystemBackend",
            "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps({"connections_file_path": str(self.connections_file)}),
            "AIRFLOW_CONN_DATAWORKS_DEFAULT": json.dumps(conn),
            **roles,
        }

    def start_component(self, name: str) -> None:
        log = open(self.home / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        args = [str(BIN / "airflow"), name] + (
            ["--host", "127.0.0.1", "--port", str(self.api_port)] if name == "api-server" else []
        )
        self.processes[name] = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
        )

    def stop_component(self, name: str, timeout: float = 30) -> None:
        proc = self.processes.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop(self) -> None:
        for name in ("triggerer", "scheduler", "dag-processor", "api-server", "emulator"):
            self.stop_component(name)

    def __enter__(self) -> AirflowStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        """The api-server (UI and REST API), e.g. ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.api_port}"

    def _api_healthy(self) -> bool:
        url = f"{self.api_url}/api/v2/monitor/health"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url, timeout=5) as response:
            return response.status == 200

    # ------------------------------------------------------------------------------------ airflow
    def cli(self, *args: str, check: bool = True, retry_locked: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``airflow *args``, retried when SQLite was locked by another component.

        Pass ``retry_locked=False`` for a command that commits in more than one transaction: a retry could meet
        what its failed attempt left behind.
        """
        for _ in range(5 if retry_locked else 1):
            done = subprocess.run(
                [str(BIN / "airflow"), *args], env=self.env, check=False, capture_output=True, text=True, timeout=300
            )
            if done.returncode == 0 or "database is locked" not in done.stdout + done.stderr:
                break
            time.sleep(2)
        if check and done.returncode != 0:
            raise _failed(args, done)
        return done

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.home / "airflow.db", timeout=30) as db:
            return db.execute(sql, params).fetchall()

    def wait_parsed(self, dag_ids: Iterable[str], timeout: float = 120) -> None:
        wanted = set(dag_ids)

        def parsed() -> bool:
            rows = self.query("SELECT dag_id FROM serialized_dag")
            return wanted <= {r[0] for r in rows}

        wait_for(parsed, f"DAGs {sorted(wanted)} parsed", timeout, 1)

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        rows = self.query(
            "SELECT run_id, state, logical_date, run_type FROM dag_run WHERE dag_id = ? ORDER BY logical_date", dag_id
        )
        return [dict(zip(("run_id", "state", "logical_date", "run_type"), r, strict=True)) for r in rows]

    def task_states(self, dag_id: str) -> list[str]:
        return [r[0] for r in self.query("SELECT state FROM task_instance WHERE dag_id = ?", dag_id)]

    def wait_runs_finished(self, dag_id: str, count: int, timeout: float = 300) -> list[dict[str, Any]]:
        def finished() -> list[dict[str, Any]] | None:
            runs = self.runs(dag_id)
            done = [r for r in runs if r["state"] in ("success", "failed")]
            return runs if len(runs) >= count and len(done) == len(runs) else None

        return wait_for(finished, f"{count} runs of {dag_id}", timeout, 1)

    def wait_backfills_complete(self, dag_id: str, timeout: float = 180) -> None:
        def complete() -> bool:
            open_ones = self.query("SELECT count(*) FROM backfill WHERE dag_id = ? AND completed_at IS NULL", dag_id)
            return open_ones[0][0] == 0

        wait_for(complete, f"the backfills of {dag_id} to complete", timeout, 1)

    def backfill(self, dag_id: str, from_date: str, to_date: str, *extra: str) -> None:
        """Create a backfill (after the DAG's previous one is complete: Airflow allows one at a time).

        On SQLite a write can fail at once with "database is locked" (no busy wait) when it meets another
        component's commit while its own session still reads. Airflow commits the backfill row before its runs,
        and removes a half-made backfill after a lock error only on PostgreSQL and MySQL (SQLite's error is not
        recognised), so a plain retry fails with AlreadyRunningBackfill. The harness cancels the half-made one
        through the REST API (its queued runs fail, running ones finish) and creates the backfill again,
        reprocessing failed runs: each date still gets one run that runs. To make the lock rare in the first
        place, the scheduler (the busiest writer) is paused (SIGSTOP) for the few seconds the create takes.
        """
        self.wait_backfills_complete(dag_id)
        args = ("backfill", "create", "--dag-id", dag_id, "--from-date", from_date, "--to-date", to_date, *extra)
        for attempt in range(1, 6):
            last_id = self.query("SELECT coalesce(max(id), 0) FROM backfill")[0][0]
            with self.paused("scheduler"):
                done = self.cli(*args, check=False, retry_locked=False)
            if done.returncode == 0 or "database is locked" not in done.stdout + done.stderr:
                break
            print(f"backfill create {dag_id}: database locked; cancel what it left, create again", file=sys.stderr)
            time.sleep(attempt)
            self.cancel_backfills_after(dag_id, last_id)
            if "--reprocess-behavior" not in args:
                args += ("--reprocess-behavior", "failed")
        if done.returncode != 0:
            raise _failed(args, done)

    @contextmanager
    def paused(self, name: str) -> Iterator[None]:
        """Component ``name``'s main process stopped (SIGSTOP) inside the block, continued after it."""
        proc = self.processes.get(name)
        if proc is None or proc.poll() is not None:
            yield
            return
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(proc.pid, signal.SIGCONT)

    def cancel_backfills_after(self, dag_id: str, last_id: int) -> None:
        """Cancel ``dag_id``'s open backfills newer than ``last_id`` (PUT /api/v2/backfills/{id}/cancel)."""
        open_ones = "SELECT id FROM backfill WHERE dag_id = ? AND id > ? AND completed_at IS NULL"
        for (backfill_id,) in self.query(open_ones, dag_id, last_id):
            request = urllib.request.Request(f"{self.api_url}/api/v2/backfills/{backfill_id}/cancel", method="PUT")
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(request, timeout=30) as response:
                assert response.status == 200, response.status

    def task_logs(self) -> dict[Path, str]:
        return {p: p.read_text(errors="replace") for p in (self.home / "logs").rglob("*.log")}


def _failed(args: Iterable[str], done: subprocess.CompletedProcess[str]) -> RuntimeError:
    return RuntimeError(
        f"airflow {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    )


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
    return env
