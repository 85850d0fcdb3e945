"""``airflow dataworks check``: each DataWorks task of a DAG against its node's own schedule (the Airflow side).

``python -m airflow_provider_dataworks.cli.check [--dag-id ID | --dag-file PATH] [--json]`` on every Airflow version
(on 3.2+ also ``airflow dataworks check ...``; arguments in ``cli/options.py``).

For every ``DataWorksTriggerOperator`` and ``DataWorksTaskInstanceSensor`` of the DAG(s) it reads the node's
schedule (**one GetTask per node**, nothing else), computes the TriggerTimes the DAG's next ``--fire-times`` runs
send (the timetable's ``next_dagrun_info`` from now; a scheduled run's ``data_interval_end``, through
``timing.resolve_trigger_time`` as the operator does), plus the runs around the next year's daylight-saving
changes of both zones, and compares them (``schedule_check.compare``). Tasks whose instance does not follow the
DAG's schedule (an explicit ``trigger_time``, a sensor on ``instance_id``, a mapped task, templated ids, a DAG
without a time schedule) are listed as not checked, with why.

Exit status: 0 every checked task matches its node; 1 a mismatch; 2 a task could not be checked (connection, API).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import pendulum

from airflow_provider_dataworks.cli.options import CHECK_HELP, CHECK_OPTIONS, module_parser
from airflow_provider_dataworks.cli.shared_io import dag_bag, stdout_for_the_report_only
from airflow_provider_dataworks.domain.schedule_check import (
    Comparison,
    DagSchedule,
    Finding,
    UnsupportedCron,
    compare,
    dst_transitions,
    parse_quartz,
)
from airflow_provider_dataworks.timetables.fire_times import scheduler_timetable, trigger_times

#: Fires looked at around each daylight-saving change: from 2 days before to 2 days after, at most this many.
DST_WINDOW_FIRES = 150


@dataclass
class TaskCheck:
    """The verdict for one DataWorks task: ``ok``, ``mismatch``, ``not checked`` or ``error``."""

    dag_id: str
    task_id: str
    status: str
    reason: str = ""
    node_id: int | None = None
    node_cron: str | None = None
    node_zone: str | None = None
    dag_schedule: str | None = None
    dag_zone: str | None = None
    conn_id: str | None = None
    fires: int = 0
    findings: list[Finding] = field(default_factory=list)


@dataclass
class CheckReport:
    checks: list[TaskCheck]
    get_task_calls: int
    fire_times: int

    @property
    def exit_status(self) -> int:
        if any(c.status == "mismatch" for c in self.checks):
            return 1
        return 2 if any(c.status == "error" for c in self.checks) else 0

    def to_json(self) -> dict[str, Any]:
        count = {s: sum(c.status == s for c in self.checks) for s in ("ok", "mismatch", "not checked", "error")}
        return {
            "checks": [asdict(c) for c in self.checks],
            "ok": self.exit_status == 0,
            **{k.replace(" ", "_"): v for k, v in count.items()},
            "get_task_calls": self.get_task_calls,
            "fire_times": self.fire_times,
            "exit_status": self.exit_status,
        }


# --------------------------------------------------------------------------------------------- the DAG's side
def _zone_name(zone: Any) -> str | None:
    name = getattr(zone, "name", zone)
    return name if isinstance(name, str) and name else None


def dag_schedule(dag: Any, timetable: Any) -> DagSchedule:
    cron = getattr(timetable, "_expression", None)
    zone = _zone_name(getattr(timetable, "_timezone", None)) or _zone_name(getattr(dag, "timezone", None))
    summary = str(getattr(timetable, "summary", None) or type(timetable).__name__)
    return DagSchedule(cron=cron if isinstance(cron, str) else None, zone=zone, summary=summary)


def _is_mapped(task: Any) -> bool:
    return type(task).__name__ == "MappedOperator" or hasattr(task, "partial_kwargs")


def _dataworks_kind(task: Any) -> str | None:
    """``operator`` / ``sensor`` for the DataWorks tasks (by their attributes: only DAG files import operators/)."""
    if _is_mapped(task):
        kwargs = getattr(task, "partial_kwargs", {}) or {}
        expand = getattr(task, "expand_input", None)
        names = set(kwargs) | set(getattr(expand, "value", {}) or {})
        if {"dataworks_task_id", "instance_id"} & names:
            return "mapped"
        return None
    if all(hasattr(task, a) for a in ("dataworks_task_id", "wait_for_completion", "target_of")):
        return "operator"
    if all(hasattr(task, a) for a in ("dataworks_task_id", "instance_id", "trigger_time", "poke")):
        return "sensor"
    return None


def _templated(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def _not_checked_reason(task: Any, kind: str) -> str | None:
    if kind == "mapped":
        return "a mapped task (.expand): each mapped task's trigger_time comes from an upstream task at run time"
    if kind == "sensor" and task.instance_id not in (None, ""):
        return (
            f"waits on instance_id {task.instance_id!r}: the instance is the one another task released (that task "
            "is checked)"
        )
    if task.trigger_time is not None:
        return (
            f"an explicit trigger_time {task.trigger_time!r} names its instance, not the DAG's schedule: check that "
            "template by hand (airflow dataworks plan shows what it renders to)"
        )
    for name in ("dataworks_task_id", "timezone", "dataworks_conn_id"):
        value = getattr(task, name, None)
        if _templated(value):
            return f"templated {name} {value!r}: known only when the task runs"
    return None


# --------------------------------------------------------------------------------------------- the check
class _NodeSchedules:
    """GetTask once per (connection, node): the node's cron and its workspace's scheduling zone."""

    def __init__(self) -> None:
        self.hooks: dict[str, Any] = {}
        self.tasks: dict[tuple[str, int], Any] = {}
        self.calls = 0

    def hook(self, conn_id: str) -> Any:
        if conn_id not in self.hooks:
            from airflow_provider_dataworks.hooks.dataworks import DataWorksHook

            self.hooks[conn_id] = DataWorksHook(dataworks_conn_id=conn_id)
        return self.hooks[conn_id]

    def task(self, conn_id: str, node_id: int) -> Any:
        key = (conn_id, node_id)
        if key not in self.tasks:
            self.calls += 1
            self.tasks[key] = self.hook(conn_id).get_task(node_id)
        return self.tasks[key]


def check_task(
    dag: Any,
    task: Any,
    kind: str,
    nodes: _NodeSchedules,
    fires: list[int],
    windows: Callable[[str], list[list[int]]],
    schedule: DagSchedule,
) -> TaskCheck:
    """One DataWorks task: GetTask of its node, then the comparison."""
    check = TaskCheck(dag.dag_id, task.task_id, "not checked", dag_schedule=schedule.cron or schedule.summary)
    check.dag_zone = schedule.zone
    reason = _not_checked_reason(task, kind)
    if reason:
        check.reason = reason
        return check
    if not fires:
        check.reason = f"the DAG has no time schedule ({schedule.summary}) or no run ahead: nothing to compare"
        return check
    check.conn_id = task.dataworks_conn_id
    try:
        node_id = int(task.dataworks_task_id)
        check.node_id = node_id
        settings = nodes.hook(task.dataworks_conn_id).settings
        zone = task.timezone or settings.timezone
        check.node_zone = zone
        node = nodes.task(task.dataworks_conn_id, node_id)
    except Exception as err:  # a connection that is missing or wrong, an API error: reported, the rest goes on
        check.status, check.reason = "error", f"{type(err).__name__}: {err}"
        return check
    return _compare_with_node(check, node_id, node, zone, fires, windows, schedule)


def _compare_with_node(
    check: TaskCheck,
    node_id: int,
    node: Any,
    zone: str,
    fires: list[int],
    windows: Callable[[str], list[list[int]]],
    schedule: DagSchedule,
) -> TaskCheck:
    """``check`` completed with the comparison of the DAG's runs and node ``node_id`` (its GetTask: ``node``)."""
    check.node_cron = node.cron
    if getattr(node, "trigger_type", None) == "Manual":  # models.Task.trigger_type, once it has one
        check.status = "mismatch"
        check.findings = [
            Finding(
                "manual",
                f"node {node_id} is a manual task (Trigger.Type=Manual): DataWorks generates no scheduled instance for "
                "your DAG's runs to release; schedule the node, or give the task an explicit trigger_time",
            )
        ]
        return check
    if not node.cron:
        check.status, check.reason = "error", f"node {node_id} has no schedule (GetTask's Trigger.Cron is empty)"
        return check
    try:
        cron = parse_quartz(node.cron)
    except UnsupportedCron as err:
        check.status, check.reason = "error", str(err)
        return check
    result: Comparison = compare([fires, *windows(zone)], node_id, cron, zone, schedule)
    check.fires = result.fires
    check.findings = result.findings
    check.status = "ok" if result.ok else "mismatch"
    return check


def _dst_windows(
    dag: Any, timetable: Any, schedule: DagSchedule, start: datetime, cache: dict[str, list[list[int]]], zone: str
) -> list[list[int]]:
    """The DAG's runs around each daylight-saving change of ``zone`` and the DAG's zone in the year from ``start``
    (``cache``: by ``zone``, for one DAG)."""
    if zone not in cache:
        days = set(dst_transitions(zone, start))
        if schedule.zone:
            days |= set(dst_transitions(schedule.zone, start))
        cache[zone] = [
            trigger_times(
                dag,
                timetable,
                pendulum.datetime(d.year, d.month, d.day) - timedelta(days=2),
                DST_WINDOW_FIRES,
                until=pendulum.datetime(d.year, d.month, d.day) + timedelta(days=3),
            )
            for d in sorted(days)
        ]
    return cache[zone]


def check_dags(dags: Iterable[Any], fire_times: int = 30, now: datetime | None = None) -> CheckReport:
    """Check every DataWorks task of ``dags`` against its node (one GetTask per node)."""
    start = pendulum.instance(now) if now is not None else pendulum.now("UTC")
    nodes = _NodeSchedules()
    checks: list[TaskCheck] = []
    for dag in dags:
        tasks = [(t, k) for t in dag.tasks if (k := _dataworks_kind(t))]
        if not tasks:
            continue
        timetable = scheduler_timetable(dag)
        schedule = dag_schedule(dag, timetable)
        can = getattr(timetable, "can_be_scheduled", True) and getattr(timetable, "periodic", True)
        fires = trigger_times(dag, timetable, start, fire_times) if can else []
        windows = partial(_dst_windows, dag, timetable, schedule, start, {})
        checks += [check_task(dag, t, k, nodes, fires, windows, schedule) for t, k in tasks]
    return CheckReport(checks, nodes.calls, fire_times)


# --------------------------------------------------------------------------------------------- output
def format_report(report: CheckReport) -> str:
    out: list[str] = []
    for c in report.checks:
        where = f"DAG {c.dag_id}, task {c.task_id}"
        if c.status == "not checked":
            out.append(f"{where}: not checked: {c.reason}")
            continue
        if c.status == "error":
            out.append(f"{where}: ERROR (node {c.node_id}, connection {c.conn_id!r}): {c.reason}")
            continue
        what = (
            f"node {c.node_id} runs {c.node_cron!r} in {c.node_zone}; the DAG {c.dag_schedule!r} in {c.dag_zone}"
            f" ({c.fires} runs checked)"
        )
        if c.status == "ok":
            out.append(f"{where}: OK: {what}")
        else:
            out.append(f"{where}: MISMATCH: {what}")
            out += [f"  - {f.message}" for f in c.findings]
    count = {s: sum(c.status == s for c in report.checks) for s in ("ok", "mismatch", "not checked", "error")}
    out.append(
        f"{count['ok'] + count['mismatch']} task(s) checked: {count['ok']} OK, {count['mismatch']} mismatch(es); "
        f"{count['not checked']} not checked; {count['error']} error(s). This check spent {report.get_task_calls} "
        "GetTask call(s)."
    )
    return "\n".join(out)


def load_dags(dag_id: str | None, dag_file: str | None, dags_folder: str | None) -> list[Any]:
    """The DAG ``dag_id`` (or every DAG) of ``dag_file``, else of the dags folder (Airflow's, by default)."""
    where = dag_file or dags_folder
    bag = dag_bag(where)
    if dag_id is None:
        if bag.import_errors:
            print(f"Files that failed to import (not checked): {sorted(bag.import_errors)}", file=sys.stderr)
        return [bag.dags[d] for d in sorted(bag.dags)]
    dag = bag.dags.get(dag_id)
    if dag is None:
        errors = f"; files that failed to import: {sorted(bag.import_errors)}" if bag.import_errors else ""
        raise SystemExit(f"--dag-id {dag_id!r}: no such DAG in {where or 'the dags folder'}{errors}")
    return [dag]


def parse_from(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = pendulum.parse(text, tz="UTC")
    except ValueError as err:
        raise SystemExit(f"--from {text!r} is not an ISO-8601 date or time: {err}") from None
    if not isinstance(moment, datetime):
        raise SystemExit(f"--from {text!r} is not a date or time (e.g. 2027-03-01)")
    return moment


def run(args: argparse.Namespace) -> int:
    """Check the DAG(s) of ``args``; print the report (stdout: only the report); return the exit status."""
    if args.fire_times < 1:
        raise SystemExit(f"--fire-times {args.fire_times}: at least 1")
    with stdout_for_the_report_only() as out:
        dags = load_dags(args.dag_id, args.dag_file, args.dags_folder)
        report = check_dags(dags, args.fire_times, parse_from(args.start))
        print(json.dumps(report.to_json(), indent=2, default=str) if args.json else format_report(report), file=out)
    return report.exit_status


def airflow_command(args: argparse.Namespace) -> None:
    """``airflow dataworks check`` (Airflow 3.2+): print the report; exit with its status."""
    status = run(args)
    if status:
        sys.exit(status)


def main(argv: Iterable[str] | None = None) -> int:
    """``python -m airflow_provider_dataworks.cli.check``: every Airflow version, the same arguments; bad input
    exits 2 with its message."""
    parser = module_parser("airflow_provider_dataworks.cli.check", CHECK_HELP, CHECK_OPTIONS)
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        return run(args)
    except SystemExit as err:  # bad arguments: the message, status 2
        if isinstance(err.code, str):
            print(err.code, file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
