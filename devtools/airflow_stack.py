"""A real Airflow 3 deployment on one machine, for the demo and the end-to-end tests.

The emulator (``dataworks-emulator``) and Airflow's api-server, dag-processor, scheduler and triggerer(s) run as
separate processes in a temporary AIRFLOW_HOME, started in order and each waited for (the api-server must
answer before tasks run: workers call its execution API). ``stop()`` ends all. Two shapes (``executor``):

* ``"local"`` (the default, Airflow's embedded default): LocalExecutor on SQLite, one triggerer.
* ``"celery"`` (the production shape): PostgreSQL for metadata and Redis as Celery's broker, both the harness's
  own processes on loopback (``devtools/services.py``), CeleryExecutor with two Celery workers and two triggerers
  (``workers``, ``triggerers``), each a process of its own.

Connections: ``AIRFLOW_CONN_*`` variables, the metadata database, and a secrets backend every component reads
(``connections_file``, Airflow's local-filesystem backend).
"""

from __future__ import annotations

import base64
import contextlib
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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from airflow_provider_dataworks.emulator import EmulatorControl
from devtools.services import PostgresServer, RedisServer

BIN = Path(sys.executable).parent
EXECUTORS = ("local", "celery")
#: Seconds between two looks at a wait's progress (each look is a query: on SQLite, a reader the components meet).
PROGRESS_EVERY_S = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    check: Any,
    what: str,
    timeout: float,
    interval: float = 0.5,
    *,
    progress: Callable[[], Any] | None = None,
    limit: float | None = None,
) -> Any:
    """Call ``check`` every ``interval`` s until it returns something truthy; raise TimeoutError naming ``what``.

    Without ``progress``, ``timeout`` s in all. With it, ``timeout`` s without progress: each change of
    ``progress()`` (e.g. the task states) starts the ``timeout`` again, up to ``limit`` s in all (3 x ``timeout``
    unless given). A loaded machine then slows a wait down without failing it; a hang still fails it, and the
    error says what ``progress()`` last was.
    """
    started = time.monotonic()
    end = started + (timeout if progress is None else (limit or 3 * timeout))
    deadline, last, looked = started + timeout, None, -PROGRESS_EVERY_S
    while (now := time.monotonic()) < min(deadline, end):
        try:
            result = check()
        except Exception:  # not up yet
            result = None
        if result:
            return result
        if progress is not None and now - looked >= PROGRESS_EVERY_S:
            looked = now
            with contextlib.suppress(Exception):
                if (seen := progress()) != last:
                    deadline, last = now + timeout, seen
        time.sleep(interval)
    if progress is None:
        raise TimeoutError(f"{what} not ready after {timeout:.0f} s")
    raise TimeoutError(
        f"{what} not ready after {time.monotonic() - started:.0f} s (no progress for {timeout:.0f} s, or "
        f"{limit or 3 * timeout:.0f} s in all); last seen: {repr(last)[:3000]}"
    )


class AirflowStack:
    """Emulator + Airflow 3 (api-server, dag-processor, scheduler, triggerers, Celery workers) on loopback ports.

    Components are named ``api-server``, ``dag-processor``, ``scheduler``, ``triggerer`` (``triggerer-2``, ...)
    and, with Celery, ``worker-1``, ``worker-2``, ...; each logs to ``<home>/<name>.log``.
    """

    def __init__(
        self,
        dag_files: Iterable[Path],
        spec: dict[str, Any],
        *,
        home: Path | None = None,
        sts: bool = False,
        role_arn: str | None = None,
        log_level: str = "INFO",
        executor: str = "local",
        triggerers: int | None = None,
        workers: int = 2,
        worker_concurrency: int = 8,
        settings: dict[str, str] | None = None,
        emulator_args: Iterable[str] = (),
    ) -> None:
        """``sts``: the ``dataworks_default`` connection uses STS credentials (id, secret and security token).
        ``role_arn``: the emulated STS has this RAM role, and ``dataworks_role`` assumes it with the AccessKey.
        ``log_level``: every component's and task's (the tests run DEBUG: secrets must not leak even then).
        ``executor``: ``"local"`` (SQLite, LocalExecutor) or ``"celery"`` (PostgreSQL, Redis, CeleryExecutor);
        ``triggerers``: how many (default 1 local, 2 celery); ``workers`` Celery workers of ``worker_concurrency``
        task slots each. ``settings``: more ``AIRFLOW__*`` variables for every component. ``emulator_args``: more
        ``dataworks-emulator`` flags, e.g. an edition's limits (``--read-qps 5 --write-qps 2``)."""
        if executor not in EXECUTORS:
            raise ValueError(f"executor={executor!r}: one of {EXECUTORS}")
        self.executor = executor
        self.triggerer_count = triggerers if triggerers is not None else (2 if executor == "celery" else 1)
        self.worker_count = workers if executor == "celery" else 0
        self.worker_concurrency = worker_concurrency
        self.settings = dict(settings or {})
        self.emulator_args = list(emulator_args)
        self.postgres: PostgresServer | None = None
        self.redis: RedisServer | None = None
        self._triggerer_job_ids: dict[str, int] = {}
        #: How often ``backfill`` had to recover from SQLite's half-made backfill (never on PostgreSQL).
        self.backfill_recoveries = 0
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
    @property
    def triggerers(self) -> list[str]:
        """The triggerer components' names: ``triggerer``, ``triggerer-2``, ..."""
        return ["triggerer"] + [f"triggerer-{n}" for n in range(2, self.triggerer_count + 1)]

    @property
    def workers(self) -> list[str]:
        """The Celery workers' names: ``worker-1``, ``worker-2``, ... (none with LocalExecutor)."""
        return [f"worker-{n}" for n in range(1, self.worker_count + 1)]

    @property
    def components(self) -> list[str]:
        """Every Airflow component, in start order."""
        return ["api-server", "dag-processor", "scheduler", *self.triggerers, *self.workers]

    def start(self) -> AirflowStack:
        """Start everything in order; what started is stopped again if a later step fails."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> AirflowStack:
        if self.executor == "celery":
            self.postgres = PostgresServer(free_port()).start()
            self.redis = RedisServer(free_port()).start()
        self._start_emulator()
        self.env = self._airflow_env()
        migrate = subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=self.env, capture_output=True, text=True)
        if migrate.returncode != 0:
            raise _failed(["db", "migrate"], migrate)
        self.start_component("api-server")
        wait_for(self._api_healthy, "api-server", 120)
        for name in self.components[1:]:
            self.start_component(name)
        return self

    def _start_emulator(self) -> None:
        spec_file, info_file = self.home / "emulator-spec.json", self.home / "emulator.json"
        spec_file.write_text(json.dumps(self.spec))
        log = open(self.home / "emulator.log", "wb")  # noqa: SIM115 - lives as long as the process
        self.processes["emulator"] = subprocess.Popen(
            [str(BIN / "dataworks-emulator"), "--spec", str(spec_file), "--info-file", str(info_file)]
            + (["--sts"] if self.sts else [])
            + self.emulator_args,
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
            **self._local_env(),
            **(self._celery_env() if self.executor == "celery" else {}),
            **roles,
            "AIRFLOW_CONN_DATAWORKS_DEFAULT": json.dumps(conn),
            **self.settings,
        }

    def _local_env(self) -> dict[str, str]:
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
            # Connections' passwords and triggers' kwargs encrypted in the database, as a deployment has them.
            "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            # A DAG file is parsed within 5 s of appearing and not again (no test edits one in place): each parse is
            # a process, and a stack lives for minutes on a busy machine (the default re-parses every 30 s).
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "3600",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__SECRETS__BACKEND": "airflow.secrets.local_filesystem.LocalFilesystemBackend",
            "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps({"connections_file_path": str(self.connections_file)}),
        }

    def _celery_env(self) -> dict[str, str]:
        """PostgreSQL, Redis, CeleryExecutor; and failure detection within seconds rather than minutes, so a test
        sees a killed worker's task retried and a killed triggerer's waits taken over while it watches."""
        assert self.postgres is not None and self.redis is not None
        return {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(max(8, self.worker_count * self.worker_concurrency)),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.postgres.url,
            "AIRFLOW__CELERY__BROKER_URL": self.redis.url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.postgres.url,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
            # A killed worker's task: failed (and retried) 20 s after its last heartbeat (default 300 s).
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
            # A killed triggerer's triggers: handed to the other after 15 s without a heartbeat (default 30 s).
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "15",
        }

    def _command(self, name: str) -> list[str]:
        airflow = str(BIN / "airflow")
        if name == "api-server":
            return [airflow, "api-server", "--host", "127.0.0.1", "--port", str(self.api_port)]
        if name.startswith("worker-"):  # its own Celery node name; task logs are read from the shared home
            return [airflow, "celery", "worker", "--celery-hostname", f"{name}@%h", "--skip-serve-logs",
                    "--without-gossip", "--without-mingle"]  # fmt: skip
        if name.startswith("triggerer"):  # several on one host: no log server (its port would clash)
            return [airflow, "triggerer", *(["--skip-serve-logs"] if self.triggerer_count > 1 else [])]
        return [airflow, name]

    def start_component(self, name: str) -> None:
        """Start ``name``; with several triggerers, wait until its job row appears (``triggerer_jobs``)."""
        several = name.startswith("triggerer") and self.triggerer_count > 1
        known = set(self._running_triggerer_jobs()) if several else None
        log = open(self.home / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.processes[name] = subprocess.Popen(
            self._command(name), stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
        )
        if known is not None:
            new = wait_for(lambda: set(self._running_triggerer_jobs()) - known, f"{name}'s job", 120, 0.5)
            self._triggerer_job_ids[name] = max(new)

    def kill_component(self, name: str) -> None:
        """SIGKILL ``name`` and every process it started (a crash: no clean-up, no goodbye to the database)."""
        import psutil

        proc = self.processes.pop(name)
        descendants = psutil.Process(proc.pid).children(recursive=True)  # a task may have left the group
        os.killpg(proc.pid, signal.SIGKILL)
        for child in descendants:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        proc.wait()

    def component_calling(self, port: int, names: Iterable[str]) -> str | None:
        """Which of ``names`` has a process with an open connection to ``port`` (say, the emulator's), if any."""
        import psutil

        for name in names:
            proc = self.processes.get(name)
            if proc is None or proc.poll() is not None:
                continue
            try:
                tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for process in tree:
                with contextlib.suppress(psutil.Error):
                    if any(c.raddr and c.raddr.port == port for c in process.net_connections(kind="tcp")):
                        return name
        return None

    def celery_tasks_done(self, worker: str) -> int:
        """How many Celery tasks (task tries, resumptions) ``worker`` has finished, read from its log."""
        return (self.home / f"{worker}.log").read_text(errors="replace").count("] succeeded in ")

    def _running_triggerer_jobs(self) -> list[int]:
        running = "SELECT id FROM job WHERE job_type = 'TriggererJob' AND state = 'running'"
        return [row[0] for row in self.query(running)]

    def triggerer_jobs(self) -> dict[int, str]:
        """Job id (``trigger.triggerer_id``) -> triggerer component, for the triggerers started while others ran
        (each start waits for its new job row; the job table has no pid to match them by)."""
        return {job_id: name for name, job_id in self._triggerer_job_ids.items() if name in self.processes}

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
        for name in [*reversed(self.components), "emulator"]:
            self.stop_component(name)
        for service in (self.redis, self.postgres):
            if service is not None:
                service.stop()

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
        """Rows of ``sql`` (``?`` placeholders) from the metadata database, as SQLite gives them on either
        database: datetimes as naive UTC text (``2026-11-01 16:30:00``), JSON as text."""
        if self.postgres is None:
            with sqlite3.connect(self.home / "airflow.db", timeout=30) as db:
                return db.execute(sql, params).fetchall()
        import psycopg2
        import psycopg2.extras

        db = psycopg2.connect(host="127.0.0.1", port=self.postgres.port, user="airflow", dbname="airflow")
        for register in (psycopg2.extras.register_default_json, psycopg2.extras.register_default_jsonb):
            register(db, loads=lambda text: text)  # JSON columns as text, as SQLite gives them
        try:
            with db, db.cursor() as cursor:
                cursor.execute(sql.replace("?", "%s"), params)
                rows = cursor.fetchall() if cursor.description else []
        finally:
            db.close()
        return [tuple(_as_stored(value) for value in row) for row in rows]

    def dump_database(self) -> str:
        """The whole metadata database as SQL text (``pg_dump``, or SQLite's ``iterdump``)."""
        if self.postgres is not None:
            return self.postgres.dump()
        with sqlite3.connect(self.home / "airflow.db", timeout=30) as db:
            return "\n".join(db.iterdump())

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

    def dag_progress(self, dag_id: str) -> list[tuple[Any, ...]]:
        """What moves while ``dag_id``'s runs go on: its backfills (completed or not), each run's state and each of
        its task instances' state and try (``(run_id, run state, task_id, map_index, state, try_number)``)."""
        backfills = self.query("SELECT id, completed_at IS NOT NULL FROM backfill WHERE dag_id = ? ORDER BY id", dag_id)
        tasks = self.query(
            "SELECT r.run_id, r.state, ti.task_id, ti.map_index, ti.state, ti.try_number FROM dag_run r"
            " LEFT JOIN task_instance ti ON ti.dag_id = r.dag_id AND ti.run_id = r.run_id WHERE r.dag_id = ?"
            " ORDER BY r.logical_date, ti.task_id, ti.map_index",
            dag_id,
        )
        return [("backfill", *row) for row in backfills] + tasks

    def wait_runs_finished(self, dag_id: str, count: int, timeout: float = 300) -> list[dict[str, Any]]:
        """``dag_id``'s runs once there are ``count`` and all have finished; fails after ``timeout`` s without
        progress (:meth:`dag_progress`), 3 x ``timeout`` s in all."""

        def finished() -> list[dict[str, Any]] | None:
            runs = self.runs(dag_id)
            done = [r for r in runs if r["state"] in ("success", "failed")]
            return runs if len(runs) >= count and len(done) == len(runs) else None

        return wait_for(finished, f"{count} runs of {dag_id}", timeout, 1, progress=lambda: self.dag_progress(dag_id))

    def wait_backfills_complete(self, dag_id: str, timeout: float = 180) -> None:
        """Until no backfill of ``dag_id`` is open; fails after ``timeout`` s without progress
        (:meth:`dag_progress`), 3 x ``timeout`` s in all."""

        def complete() -> bool:
            open_ones = self.query("SELECT count(*) FROM backfill WHERE dag_id = ? AND completed_at IS NULL", dag_id)
            return open_ones[0][0] == 0

        wait_for(
            complete, f"the backfills of {dag_id} to complete", timeout, 1, progress=lambda: self.dag_progress(dag_id)
        )

    def backfill(self, dag_id: str, from_date: str, to_date: str, *extra: str) -> None:
        """Create a backfill (after the DAG's previous one is complete: Airflow allows one at a time).

        On PostgreSQL this is one ``airflow backfill create``. On SQLite a write can fail at once with "database is
        locked" (no busy wait) when it meets another component's commit while its own session still reads. Airflow
        commits the backfill row before its runs, and removes a half-made backfill after a lock error only on
        PostgreSQL and MySQL (SQLite's error is not recognised), so a plain retry fails with AlreadyRunningBackfill.
        The harness cancels the half-made one through the REST API (its queued runs fail, running ones finish) and
        creates the backfill again, reprocessing failed runs: each date still gets one run that runs. To make the
        lock rare in the first place, the scheduler (the busiest writer) is paused (SIGSTOP) for the few seconds the
        create takes.
        """
        self.wait_backfills_complete(dag_id)
        args = ("backfill", "create", "--dag-id", dag_id, "--from-date", from_date, "--to-date", to_date, *extra)
        if self.postgres is not None:
            self.cli(*args, retry_locked=False)
            return
        for attempt in range(1, 6):
            last_id = self.query("SELECT coalesce(max(id), 0) FROM backfill")[0][0]
            with self.paused("scheduler"):
                done = self.cli(*args, check=False, retry_locked=False)
            if done.returncode == 0 or "database is locked" not in done.stdout + done.stderr:
                break
            print(f"backfill create {dag_id}: database locked; cancel what it left, create again", file=sys.stderr)
            self.backfill_recoveries += 1
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
            with opener.open(request, timeout=120) as response:  # the api-server waits up to 60 s on SQLite
                assert response.status == 200, response.status

    def task_logs(self) -> dict[Path, str]:
        return {p: p.read_text(errors="replace") for p in (self.home / "logs").rglob("*.log")}

    def secret_places(self) -> dict[str, str]:
        """Everywhere a secret must not appear, by name: task logs, the Airflow components' own output (not
        emulator.log: the emulator prints the credentials it issues), XCom, rendered fields, the whole metadata
        database dumped, the emulator's call log."""
        places = {str(path): text for path, text in self.task_logs().items()}
        places |= {f"{name}.log": (self.home / f"{name}.log").read_text(errors="replace") for name in self.components}
        for table in ("xcom", "rendered_task_instance_fields"):
            places[table] = repr(self.query(f"SELECT * FROM {table}"))
        places["metadata database dump"] = self.dump_database()
        places["emulator call log"] = repr(self.control.calls())
        return places


def _failed(args: Iterable[str], done: subprocess.CompletedProcess[str]) -> RuntimeError:
    return RuntimeError(
        f"airflow {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    )


def _as_stored(value: Any) -> Any:
    """A PostgreSQL value as SQLite gives it: aware datetimes as naive UTC text."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return str(value.astimezone(timezone.utc).replace(tzinfo=None))
    return value


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
    return env
