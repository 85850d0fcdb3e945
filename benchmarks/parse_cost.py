"""Parse cost: what the DAG processor pays to import a DAG file of 20 DataWorks operators and sensors.

The same 20-task DAG built four ways, each parsed (``DagBag`` of the one file) in fresh processes after
Airflow itself is imported: DataWorks (10 DataWorksTriggerOperator + 10 DataWorksTaskInstanceSensor),
EmptyOperator, the same Airflow base classes with no provider code ("airflow_floor": what an operator built
on ResumableJobMixin and a sensor with an extra link cost at least), and apache-airflow-providers-alibaba's
AnalyticDBSparkBatchOperator (for comparison). Reports the median wall time of the parse and the median rise
of peak RSS it causes; the kinds are measured in turn.

    python -m benchmarks.parse_cost [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HEADER = """
import pendulum
from airflow.providers.common.compat.sdk import DAG
{imports}

with DAG("parse_cost_{kind}", schedule="30 0 * * *", start_date=pendulum.datetime(2026, 11, 1, tz="Asia/Shanghai")):
"""
KINDS: dict[str, tuple[str, str]] = {
    "empty": (
        "from airflow.providers.standard.operators.empty import EmptyOperator",
        "    EmptyOperator(task_id='t{i}')",
    ),
    "dataworks": (
        "from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator\n"
        "from airflow_provider_dataworks.sensors.dataworks import DataWorksTaskInstanceSensor",
        "    DataWorksTriggerOperator(task_id='t{i}', dataworks_task_id=7000{i:02d}, project_id=1001)\n"
        "    DataWorksTaskInstanceSensor(task_id='s{i}', instance_id=\"{{{{ ti.xcom_pull('t{i}') }}}}\")",
    ),
    "airflow_floor": (
        "from airflow.providers.common.compat.sdk import BaseOperator, BaseOperatorLink, BaseSensorOperator, "
        "ResumableJobMixin\n\n"
        "class Link(BaseOperatorLink):\n    name = 'Link'\n    def get_link(self, operator, *, ti_key):\n"
        "        return ''\n\n"
        "class Resumable(ResumableJobMixin, BaseOperator):\n    operator_extra_links = (Link(),)\n"
        "    def __init__(self, *, job_id, **kwargs):\n        super().__init__(**kwargs)\n"
        "        self.job_id = job_id\n"
        "    submit_job = get_job_status = is_job_active = is_job_succeeded = poll_until_complete = None\n"
        "    get_job_result = None\n\n"
        "class Sensor(BaseSensorOperator):\n    operator_extra_links = (Link(),)\n"
        "    def poke(self, context):\n        return True\n",
        "    Resumable(task_id='t{i}', job_id=7000{i:02d})\n    Sensor(task_id='s{i}')",
    ),
    "alibaba_adb_spark": (
        "from airflow.providers.alibaba.cloud.operators.analyticdb_spark import AnalyticDBSparkBatchOperator",
        "    AnalyticDBSparkBatchOperator(task_id='t{i}', file='oss://bucket/job{i}.py', cluster_id='c', rg_name='rg')",
    ),
}
#: DataWorks: 10 operators + 10 sensors. The floor: the same Airflow base classes (ResumableJobMixin,
#: BaseSensorOperator, an extra link) with no provider code: what any such operator costs.
PER_KIND = {"empty": 20, "dataworks": 10, "airflow_floor": 10, "alibaba_adb_spark": 20}

MEASURE = """
import json, resource, sys, time
import airflow  # Airflow itself is already loaded when the DAG processor parses a file
from airflow.providers.common.compat.sdk import DAG
try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:
    from airflow.models.dagbag import DagBag
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
bag = DagBag(sys.argv[1])
wall = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert not bag.import_errors, bag.import_errors
tasks = sum(len(d.tasks) for d in bag.dags.values())
heavy = sorted({m.split('.')[0] for m in sys.modules if m.startswith(('alibabacloud', 'darabonba', 'Tea'))})
print(json.dumps({"wall_s": wall, "rss_rise_mb": (after - before) / 1024, "peak_rss_mb": after / 1024,
                  "tasks": tasks, "sdk_modules": heavy}))
"""


ENV = {**os.environ, "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW_HOME": tempfile.mkdtemp(prefix="parse-home-")}


def dag_file(kind: str, folder: Path) -> Path:
    imports, task = KINDS[kind]
    body = "\n".join(task.format(i=i) for i in range(PER_KIND[kind]))
    path = folder / f"parse_cost_{kind}.py"
    path.write_text(HEADER.format(imports=imports, kind=kind) + body + "\n")
    return path


def measure_once(path: Path) -> dict[str, Any]:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, check=True, env=ENV
    )
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "process_s": time.perf_counter() - start}


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "wall_s": statistics.median(r["wall_s"] for r in runs),
        "process_s": statistics.median(r["process_s"] for r in runs),
        "rss_rise_mb": statistics.median(r["rss_rise_mb"] for r in runs),
        "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
        "tasks": runs[0]["tasks"],
        "sdk_modules": runs[0]["sdk_modules"],
    }


def available(kind: str) -> bool:
    module = KINDS[kind][0].split()[1]
    return subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True).returncode == 0


def run(repeat: int) -> dict[str, dict[str, Any]]:
    """Each kind ``repeat`` times, the kinds taken in turn (so a load on the machine weighs on all alike)."""
    folder = Path(tempfile.mkdtemp(prefix="parse-cost-"))
    paths = {kind: dag_file(kind, folder) for kind in KINDS if available(kind)}
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in paths}
    for _ in range(repeat):
        for kind, path in paths.items():
            runs[kind].append(measure_once(path))
    return {kind: summary(r) for kind, r in runs.items()}


def table(results: dict[str, dict[str, Any]]) -> str:
    base = results["empty"]
    lines = [
        "| DAG of 20 tasks | parse ms (after Airflow is loaded) | ratio | peak RSS rise MB | vs Empty MB |"
        " whole process s (start, import Airflow, parse) | ratio | peak RSS MB | SDK modules loaded |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for kind, r in results.items():
        lines.append(
            f"| {kind} | {r['wall_s'] * 1000:.1f} | {r['wall_s'] / base['wall_s']:.2f}x | {r['rss_rise_mb']:.1f} | "
            f"{r['rss_rise_mb'] - base['rss_rise_mb']:+.1f} | {r['process_s']:.2f} | "
            f"{r['process_s'] / base['process_s']:.3f}x | {r['peak_rss_mb']:.0f} | "
            f"{', '.join(r['sdk_modules']) or 'none'} |"
        )
    if "airflow_floor" in results:
        ours, floor = results["dataworks"], results["airflow_floor"]
        lines.append(
            "\nDataWorks vs the same Airflow base classes without provider code: "
            f"{ours['wall_s'] / floor['wall_s']:.2f}x the parse time "
            f"({(ours['wall_s'] - floor['wall_s']) * 1000:+.1f} ms), "
            f"{ours['rss_rise_mb'] - floor['rss_rise_mb']:+.1f} MB peak RSS."
        )
    if "alibaba_adb_spark" not in results:
        lines.append("\n(apache-airflow-providers-alibaba is not installed: `make bench` installs it)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7, help="fresh processes per DAG (median taken)")
    args = parser.parse_args(argv)
    print(table(run(args.repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
