"""PostgreSQL and Redis as the harness's own processes on loopback, for the production-shaped stack.

Debian's ``postgresql`` and ``redis-server`` packages provide the programs (``make stack-services`` installs
them); no system service is used. Each server lives in a temporary folder of its own, listens on 127.0.0.1 on a
free port, and is stopped with the stack. PostgreSQL refuses to run as root, so as root it runs as the
``postgres`` user the Debian package creates (its folder is handed to that user).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

#: fsync and friends off: a throw-away cluster, fast on a busy CI machine.
POSTGRES_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "max_connections": "300",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}


def postgres_bindir() -> Path:
    """The folder of ``initdb``/``postgres`` (Debian keeps them in /usr/lib/postgresql/<major>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise FileNotFoundError("PostgreSQL is not installed: run `make stack-services` (Debian's postgresql package)")


def redis_server() -> str:
    found = shutil.which("redis-server", path=f"{os.environ.get('PATH', '')}:/usr/bin:/usr/sbin")
    if not found:
        raise FileNotFoundError("redis-server is not installed: run `make stack-services` (Debian's redis-server)")
    return found


def _wait(
    process: subprocess.Popen[bytes], ready: Callable[[], bool], what: str, log: Path, timeout: float = 60
) -> None:
    """Poll ``ready`` until it holds; fail with the end of ``log`` if the process exits or ``timeout`` (s) passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited ({process.returncode}): {log.read_text(errors='replace')[-2000:]}")
        if ready():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s: {log.read_text(errors='replace')[-2000:]}")


def _end(process: subprocess.Popen[bytes] | None, how: signal.Signals, timeout: float) -> None:
    """Stop ``process`` with signal ``how``; SIGKILL it if it is still there after ``timeout`` seconds."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(how)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class PostgresServer:
    """A PostgreSQL cluster (``initdb``) in a temporary folder; superuser and database ``airflow``, trust auth."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.folder = Path(tempfile.mkdtemp(prefix="stack-postgres-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self.bindir = postgres_bindir()
        self.user = "postgres" if os.geteuid() == 0 else None  # initdb and postgres refuse to run as root
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``airflow`` database."""
        return f"postgresql+psycopg2://airflow@127.0.0.1:{self.port}/airflow"

    def _run(self, *args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, user=self.user, cwd=self.folder)

    def start(self) -> PostgresServer:
        if self.user:
            shutil.chown(self.folder, self.user, self.user)
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "airflow", "--auth=trust",
                  "--encoding=UTF8", "--no-locale")  # fmt: skip
        settings = [arg for key, value in POSTGRES_SETTINGS.items() for arg in ("-c", f"{key}={value}")]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(self.folder),
                 *settings],
                stdout=log, stderr=subprocess.STDOUT, user=self.user, cwd=self.folder, start_new_session=True,
            )  # fmt: skip
        isready = [str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "airflow"]
        _wait(self.process, lambda: subprocess.run(isready, capture_output=True).returncode == 0, "postgres", self.log)
        self._run(str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "airflow", "airflow")
        return self

    def dump(self) -> str:
        """``pg_dump`` of the ``airflow`` database (plain SQL)."""
        done = subprocess.run(
            [str(self.bindir / "pg_dump"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "airflow", "airflow"],
            check=True, capture_output=True, text=True, user=self.user, cwd=self.folder,
        )  # fmt: skip
        return done.stdout

    def stop(self) -> None:
        _end(self.process, signal.SIGINT, 30)  # "fast" shutdown (SIGTERM's "smart" one waits for clients)
        shutil.rmtree(self.folder, ignore_errors=True)


class RedisServer:
    """``redis-server`` on a loopback port, nothing saved to disk (Celery's broker)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.folder = Path(tempfile.mkdtemp(prefix="stack-redis-"))
        self.log = self.folder / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [redis_server(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(self.folder)],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.folder, start_new_session=True,
            )  # fmt: skip
        _wait(self.process, lambda: b"Ready to accept connections" in self.log.read_bytes(), "redis", self.log)
        return self

    def stop(self) -> None:
        _end(self.process, signal.SIGTERM, 15)
        shutil.rmtree(self.folder, ignore_errors=True)
