"""The TriggerTimes a DAG's scheduled runs send, from its timetable (the operator's rule for each run).

    trigger_times(dag, scheduler_timetable(dag), pendulum.datetime(2026, 12, 6, tz="UTC"), 2)
    # [epoch ms of the next two scheduled runs' data_interval_end]

Used by ``airflow dataworks check`` and by the operator's warning for a manual run off the DAG's schedule.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pendulum

from airflow_provider_dataworks.domain.timing import resolve_trigger_time


def scheduler_timetable(dag: Any) -> Any:
    """The DAG's timetable as the scheduler has it (Airflow 3's SDK timetables cannot compute runs)."""
    timetable = dag.timetable
    if hasattr(timetable, "next_dagrun_info"):
        return timetable
    from airflow.serialization import serialized_objects

    form: Any = getattr(serialized_objects, "DagSerialization", None) or serialized_objects.SerializedDAG
    return form.from_dict(form.to_dict(dag)).timetable


def trigger_times(dag: Any, timetable: Any, start: datetime, count: int, until: datetime | None = None) -> list[int]:
    """TriggerTimes (epoch ms) of the DAG's scheduled runs from ``start``: ``count`` of them, or up to ``until``.

    Each through the operator's own rule (``resolve_trigger_time``: a scheduled run's ``data_interval_end``).
    """
    from airflow.timetables.base import TimeRestriction

    earliest = pendulum.instance(start)
    if dag.start_date:
        earliest = max(earliest, pendulum.instance(dag.start_date))
    latest = getattr(dag, "end_date", None)
    probe = timetable.next_dagrun_info(
        last_automated_data_interval=None, restriction=TimeRestriction(earliest=earliest, latest=latest, catchup=True)
    )
    if probe is not None and probe.data_interval is not None:  # a data-interval timetable: a run whose interval
        period = probe.data_interval.end - probe.data_interval.start  # began before ``start`` fires after it
        if period:
            earliest = earliest - period
            if dag.start_date:
                earliest = max(earliest, pendulum.instance(dag.start_date))
    restriction = TimeRestriction(earliest=earliest, latest=latest, catchup=True)
    first_ms = resolve_trigger_time(start, {}, "UTC")[0]
    out: list[int] = []
    last = None
    while len(out) < count:
        info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        if info is None or info.data_interval is None:
            break
        if until is not None and info.data_interval.end > until:
            break
        context = {
            "dag_run": SimpleNamespace(run_type="scheduled"),
            "data_interval_end": info.data_interval.end,
            "logical_date": info.logical_date,
        }
        trigger_time_ms = resolve_trigger_time(None, context, "UTC")[0]
        if trigger_time_ms >= first_ms:
            out.append(trigger_time_ms)
        if last is not None and info.data_interval == last:
            break
        last = info.data_interval
    return out
