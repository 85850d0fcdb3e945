"""Shared bits of the benchmarks: an emulator process, the connection, a machine description."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from airflow_provider_dataworks.emulator import EmulatorControl

BIN = Path(sys.executable).parent
os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
for _proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_proxy, None)


#: 2026-11-25 00:31 Asia/Shanghai: every 00:30 task of :func:`running_workspace` is running (they take an hour).
RUNNING_AT = "2026-11-25T00:31:00+08:00"
#: The business date of those instances: 2026-11-24 00:00 +08:00, epoch ms.
RUNNING_BIZDATE_MS = 1795449600000


def running_workspace(workspace_id: int, first_task: int, tasks: int) -> dict[str, Any]:
    """A scenario of one workspace with ``tasks`` daily 00:30 tasks of an hour each (all running at RUNNING_AT)."""
    task = {"cron": "30 0 * * *", "duration_seconds": 3600}
    return {
        "workspaces": [
            {
                "id": workspace_id,
                "region": "cn-hangzhou",
                "tasks": [{"id": first_task + k, "name": f"load_{k}", **task} for k in range(tasks)],
            }
        ]
    }


def run_child(args: list[str], env: dict[str, str], what: str, timeout: float) -> dict[str, Any]:
    """Run a benchmark's child process; the JSON it prints last (its stderr in the error when it fails)."""
    out = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


class EmulatorProcess:
    """``dataworks-emulator`` in its own process (so its CPU is not counted with the client's)."""

    def __init__(self, spec: dict[str, Any], freeze_at: str | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="dataworks-bench-"))
        (self.dir / "spec.json").write_text(json.dumps(spec))
        args = [str(BIN / "dataworks-emulator"), "--spec", str(self.dir / "spec.json")]
        args += ["--info-file", str(self.dir / "info.json")] + (["--freeze-at", freeze_at] if freeze_at else [])
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not (self.dir / "info.json").exists() or not (self.dir / "info.json").read_text():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.1)
        self.info: dict[str, Any] = json.loads((self.dir / "info.json").read_text())
        self.control = EmulatorControl(self.info["endpoint"], timeout=120)

    def connection(self, **extra: Any) -> str:
        """An AIRFLOW_CONN_ value for ``dataworks_default`` pointing at this emulator."""
        extras = {"endpoint": self.info["endpoint"], "region_id": "cn-hangzhou", **extra}
        return json.dumps(
            {"conn_type": "dataworks", "login": self.info["access_key_id"], "password": self.info["access_key_secret"],
             "extra": extras}
        )  # fmt: skip

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def machine() -> str:
    import airflow

    cpu = platform.processor() or platform.machine()
    return (
        f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, Airflow {airflow.__version__}, "
        f"{platform.system()} {platform.release()}"
    )
