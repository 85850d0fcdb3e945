"""``make demo``: the built-in demo workspace, three daily runs of the example DAG, one row per run.

Runs in-process: the emulator on a loopback port and ``dag.test()`` of ``example_dataworks_wait_workflow``
(trigger, then a deferrable wait for the workflow) for the three days before today, in Asia/Shanghai.
Exits non-zero if any run failed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

EXAMPLE = "example_dataworks_wait_workflow"


def main() -> int:
    os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        os.environ.pop(name, None)
    home = Path(tempfile.mkdtemp(prefix="dataworks-demo-"))
    (home / "dags").mkdir()
    os.environ.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
    )
    examples = Path(__file__).resolve().parents[2] / "example_dags"
    shutil.copy(examples / f"{EXAMPLE}.py", home / "dags")
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)

    import pendulum

    from airflow_provider_dataworks.emulator import DEMO_SPEC, DataWorksEmulator
    from airflow_provider_dataworks.timing import format_in_zone, to_epoch_ms

    emu = DataWorksEmulator().start()
    emu.load_spec(DEMO_SPEC)
    os.environ["AIRFLOW_CONN_DATAWORKS_DEFAULT"] = json.dumps({
        "conn_type": "dataworks", "login": emu.access_key_id, "password": emu.access_key_secret,
        "extra": {"endpoint": emu.endpoint, "region_id": "cn-hangzhou", "project_id": 1001},
    })  # fmt: skip
    stop = threading.Event()

    def tick() -> None:  # demo tasks take seconds; let the emulated clock run 10x faster
        while not stop.wait(0.1):
            emu.clock.advance(timedelta(seconds=1))

    threading.Thread(target=tick, daemon=True).start()
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(str(home / "dags")).get_dag(EXAMPLE)
    today = pendulum.now("Asia/Shanghai").start_of("day")
    rows, failed = [], 0
    for days_ago in (3, 2, 1):
        logical = today.subtract(days=days_ago).add(minutes=30)
        before = len(emu.calls)
        run = dag.test(logical_date=logical)
        trigger_ms = to_epoch_ms(logical)
        inst = emu.instance_of(700001, trigger_ms)
        wf_status = emu.backend.workflow_status(emu.backend.workflow_instance(inst.workflow_instance_id))[0]
        failed += run.state != "success"
        rows.append((logical.isoformat(), trigger_ms, format_in_zone(trigger_ms, "Asia/Shanghai"), inst.id,
                     inst.status.value, wf_status.value, len(emu.calls) - before, run.state))  # fmt: skip
    stop.set()
    emu.stop()
    header = ("logical date", "TriggerTime ms", "TriggerTime (Asia/Shanghai)", "instance", "instance", "workflow",
              "API calls", "run")  # fmt: skip
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print()
    for row in [header, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))
    print(f"\n{len(rows) - failed} of {len(rows)} runs succeeded; emulator calls in all: {len(emu.calls)}")
    shutil.rmtree(home, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
