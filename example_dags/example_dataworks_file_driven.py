"""(6) External file-driven scheduling: release the instances a CSV file names, one mapped task each.

The file (param ``csv_path``, default ``example_dataworks_file_driven.csv`` next to this DAG) has a header and a
``trigger_time`` column: each row names one instance of node 700001 by its scheduled time, as the console shows it
(``YYYY-MM-DD HH:MM:SS`` in the scheduling zone) or ISO-8601 with an offset; other columns are free. A malformed
row fails the reading task naming the file, line and column; a repeated time is released once (a warning names
the line). Each row becomes one mapped ``DataWorksTriggerOperator`` (``.partial(...).expand(trigger_time=...)``),
which costs what one task costs: ListTaskInstances + TriggerSchedulerTaskInstance = 2 calls (1 for an instance
already past its trigger: re-running the DAG triggers nothing twice). A row whose time names no instance fails
its own mapped task, without retries, listing that day's instances; the others go on.
"""

from __future__ import annotations

from pathlib import Path

import pendulum
from airflow.providers.common.compat.sdk import DAG, task  # airflow.sdk on Airflow 3, airflow on 2.11

from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator

ZONE = "Asia/Shanghai"  # the workspace's scheduling zone: the file's wall times are read in it


@task
def trigger_times_from_file(csv_path: str, zone: str) -> list[str]:
    """The file's trigger times, checked, in file order, each once (no DataWorks call)."""
    import csv
    import logging

    from airflow_provider_dataworks.domain.timing import parse_trigger_time

    log = logging.getLogger(__name__)
    seen: dict[int, int] = {}  # TriggerTime (epoch ms) -> the line that named it first
    times: list[str] = []
    with open(csv_path, newline="") as handle:
        reader = csv.DictReader(handle)
        if "trigger_time" not in (reader.fieldnames or []):
            raise ValueError(
                f"{csv_path}, line 1: the header has no 'trigger_time' column (it has {reader.fieldnames})"
            )
        for row in reader:
            line, text = reader.line_num, (row.get("trigger_time") or "").strip()
            where = f"{csv_path}, line {line}, column 'trigger_time'"
            if not text:
                raise ValueError(f"{where} is empty: each row names one instance by its scheduled time")
            trigger_time_ms = parse_trigger_time(text, zone, field=where)
            if trigger_time_ms in seen:
                log.warning("%s names the same instance as line %d; releasing it once.", where, seen[trigger_time_ms])
                continue
            seen[trigger_time_ms] = line
            times.append(text)
    log.info("%s names %d instance(s) to release.", csv_path, len(times))
    return times


with DAG(
    dag_id="example_dataworks_file_driven",
    schedule=None,  # run it when the file changes: by hand, from the API, or after whatever writes the file
    start_date=pendulum.datetime(2026, 11, 1, tz=ZONE),
    catchup=False,
    params={"csv_path": str(Path(__file__).with_name("example_dataworks_file_driven.csv"))},
    tags=["dataworks", "example"],
):
    DataWorksTriggerOperator.partial(task_id="release", dataworks_task_id=700001, timezone=ZONE).expand(
        trigger_time=trigger_times_from_file("{{ params.csv_path }}", ZONE)
    )
