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

from airflow_provider_dataworks.emulator.control import EmulatorControl

BIN = Path(sys.executable).parent
os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
for _proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_proxy, None)


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
