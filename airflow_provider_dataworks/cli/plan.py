"""Backfill plan: before a backfill spends quota, what each logical date releases and what it will cost.

``python -m airflow_provider_dataworks.cli.plan --dag-id ID --start 2026-09-27 --end 2026-11-25 [--json]`` (on Airflow
3.2+ also ``airflow dataworks plan ...``; arguments in ``cli/plan_args.py``). For every ``DataWorksTriggerOperator`` of
the DAG (or ``--task-id``) and every logical date the DAG's timetable makes in [start, end] whose data interval
has ended (as ``airflow backfill create`` does), it prints the TriggerTime, the instance it names (id, status),
what the run will do and the calls it will spend (reads and writes), the time those need at the account's QPS
(``read_qps`` / ``write_qps``, default Enterprise's 50 / 20), their share of Enterprise's 1,000,000 free calls a
month, and, only where the connection sets ``daily_quota``, the quota days they span. It takes the
operator's own steps: its ``target_of`` (the run's date to a TriggerTime in the scheduling zone) and the hook's
``list_instances`` + ``match_instance``.

Its own cost: **one ListTaskInstances per business date** (and node; +1 per 500 instances), +1 GetTask when
neither the operator nor the connection has a project id; it never triggers. A 60-day daily backfill: 60 calls.

What a run will spend (the README's budget table): 2 for an instance still waiting (list + trigger; +1 GetTask
without a project id), 1 for one past its trigger, a dry run, a failed or paused one (the run fails) or a time
that names no instance (fails); a day whose instances are not generated yet costs 1 per try; a task that waits
adds its polls.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, TextIO

import pendulum

from airflow_provider_dataworks.cli.plan_args import HELP, add_arguments
from airflow_provider_dataworks.domain.api_limits import ENTERPRISE_MONTHLY_FREE_CALLS
from airflow_provider_dataworks.domain.api_records import TaskInstance, TaskInstanceStatus
from airflow_provider_dataworks.domain.timing import bizdate_ms, format_in_zone
from airflow_provider_dataworks.exceptions import InstanceNotFoundError, InstanceNotGeneratedError

#: The longest range one plan covers: each date costs one ListTaskInstances of the same quota.
MAX_RANGE_DAYS = 366


@dataclass(frozen=True)
class PlanRow:
    """One logical date of one trigger task."""

    logical_date: str  # ISO-8601, UTC
    task_id: str
    dataworks_task_id: int
    trigger_time_ms: int  # epoch milliseconds
    scheduled_time: str  # the TriggerTime in the scheduling zone
    instance_id: int | None
    status: str  # the instance's status, or "-" when there is none
    action: str  # what the run will do
    calls: int  # what the run will spend, polls of a waiting task aside
    plus_polls: bool  # the task waits: +1 call (a read) per poll
    writes: int = 0  # of ``calls``, the writes (the trigger); the rest are reads


@dataclass(frozen=True)
class Plan:
    rows: list[PlanRow]
    list_calls: int  # what making the plan spent (ListTaskInstances)
    daily_quota: int | None  # calls a day of the connection's account and region; None: no daily cap
    daily_quota_reset: str  # "HH:MM:SS Zone"
    conn_id: str
    read_qps: float = 50.0  # the account's limits in the region (connection extras read_qps / write_qps)
    write_qps: float = 20.0

    @property
    def calls(self) -> int:
        return sum(r.calls for r in self.rows)

    @property
    def writes(self) -> int:
        return sum(r.writes for r in self.rows)

    @property
    def reads(self) -> int:
        return self.calls - self.writes

    @property
    def read_seconds(self) -> float:
        """The least time the reads take at the account's read QPS (were nothing else of the account calling)."""
        return self.reads / self.read_qps

    @property
    def write_seconds(self) -> float:
        return self.writes / self.write_qps

    @property
    def monthly_free_share(self) -> float:
        """The calls as a share of Enterprise's free calls a month (the plan's own ListTaskInstances aside)."""
        return self.calls / ENTERPRISE_MONTHLY_FREE_CALLS

    @property
    def quota_days(self) -> int | None:
        """Quota days the backfill spans at least (a task that meets the quota waits for the reset); None without a
        daily cap."""
        return math.ceil(self.calls / self.daily_quota) if self.daily_quota else None

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": [asdict(r) for r in self.rows],
            "calls": self.calls,
            "reads": self.reads,
            "writes": self.writes,
            "plus_polls": any(r.plus_polls for r in self.rows),
            "read_qps": self.read_qps,
            "write_qps": self.write_qps,
            "read_seconds": round(self.read_seconds, 3),
            "write_seconds": round(self.write_seconds, 3),
            "monthly_free_calls": ENTERPRISE_MONTHLY_FREE_CALLS,
            "monthly_free_share": self.monthly_free_share,
            "daily_quota": self.daily_quota,
            "daily_quota_reset": self.daily_quota_reset,
            "quota_days": self.quota_days,
            "plan_list_calls": self.list_calls,
            "dataworks_conn_id": self.conn_id,
        }


def _is_trigger_operator(task: Any) -> bool:
    """A ``DataWorksTriggerOperator`` (by its attributes: only DAG files and tests import ``operators/``)."""
    return all(hasattr(task, a) for a in ("dataworks_task_id", "wait_for_completion", "target_of"))


def run_dates(dag: Any, start: datetime, end: datetime) -> list[Any]:
    """The ``DagRunInfo`` s a backfill of [start, end] makes: logical date in the range, data interval ended."""
    if not hasattr(dag, "iter_dagrun_infos_between"):  # Airflow 3: the scheduler's form of the DAG has it
        from airflow.serialization import serialized_objects

        form: Any = getattr(serialized_objects, "DagSerialization", None) or serialized_objects.SerializedDAG
        dag = form.from_dict(form.to_dict(dag))
    now = pendulum.now("UTC")
    return [i for i in dag.iter_dagrun_infos_between(start, end) if i.data_interval and i.data_interval.end < now]


def _context(dag: Any, info: Any) -> dict[str, Any]:
    """What the operator reads of a backfill run's context (and what a ``trigger_time`` template may use)."""
    logical = info.logical_date
    interval = info.data_interval
    return {
        "dag": dag,
        "dag_run": SimpleNamespace(run_type="backfill", logical_date=logical, conf={}),
        "logical_date": logical,
        "data_interval_start": interval.start,
        "data_interval_end": interval.end,
        "ds": logical.strftime("%Y-%m-%d"),
        "ts": logical.isoformat(),
        "params": dict(getattr(dag, "params", {}) or {}),
    }


def _trigger_tasks(dag: Any, task_ids: Sequence[str] | None) -> list[Any]:
    """The DAG's ``DataWorksTriggerOperator`` s, or those ``--task-id`` names (each must be one)."""
    if not task_ids:
        ops = [t for t in dag.tasks if _is_trigger_operator(t)]
        if not ops:
            raise SystemExit(f"--dag-id {dag.dag_id!r}: the DAG has no DataWorksTriggerOperator to plan")
        return ops
    ops = []
    for task_id in task_ids:
        if not dag.has_task(task_id):
            raise SystemExit(f"--task-id {task_id!r}: DAG {dag.dag_id!r} has no such task (it has {dag.task_ids})")
        task = dag.get_task(task_id)
        if not _is_trigger_operator(task):
            raise SystemExit(
                f"--task-id {task_id!r} is a {type(task).__name__}, not a DataWorksTriggerOperator: only those are "
                "planned (a mapped one's times come from its upstream task at run time)"
            )
        ops.append(task)
    return ops


def _outcome(inst: TaskInstance | None, found: str, project_id_known: bool) -> tuple[str, str, int]:
    """(status, what the run will do, the calls it spends) for the instance a date names."""
    get_task = 0 if project_id_known else 1
    if inst is None:
        return "-", found, 1 + get_task
    if inst.is_paused:
        return inst.status.value, "fails: paused", 1 + get_task
    if inst.status == TaskInstanceStatus.FAILURE:
        return inst.status.value, "fails: in Failure (rerun it first)", 1 + get_task
    if inst.is_dry_run:
        return inst.status.value, "succeeds: a dry run", 1 + get_task
    if inst.status in TaskInstanceStatus.before_trigger():
        return inst.status.value, "triggers", 2 + get_task
    return inst.status.value, "succeeds: past its trigger", 1 + get_task


def _lookup(day: list[TaskInstance], task_id: int, trigger_time_ms: int, zone: str) -> tuple[TaskInstance | None, str]:
    from airflow_provider_dataworks.domain.api_calls import match_instance

    try:
        return match_instance(day, task_id, trigger_time_ms, zone), ""
    except InstanceNotGeneratedError:
        return None, "retries: not generated yet (1 call a try)"
    except InstanceNotFoundError:
        return None, "fails: no instance at this time"


def plan_backfill(dag: Any, start: datetime, end: datetime, task_ids: Sequence[str] | None = None) -> Plan:
    """The plan for the DataWorks trigger tasks of ``dag`` (or ``task_ids``) over logical dates [start, end].

    Spends one ListTaskInstances per (node, business date) and at most one GetTask per task; never triggers.
    """
    ops = _trigger_tasks(dag, task_ids)
    infos = run_dates(dag, start, end)
    if not infos:
        raise SystemExit(
            f"--start {start.isoformat()} / --end {end.isoformat()}: DAG {dag.dag_id!r} (schedule "
            f"{getattr(dag.timetable, 'summary', dag.timetable)}) has no run in that range whose interval has ended"
        )
    rows: list[PlanRow] = []
    days: dict[tuple[Any, ...], list[TaskInstance]] = {}
    for op in ops:
        project_id_known = bool(op.project_id or op.hook.settings.project_id)
        as_set = op.trigger_time  # a template renders per date
        for info in infos:
            context = _context(dag, info)
            if isinstance(as_set, str) and "{{" in as_set:
                op.trigger_time = op.render_template(as_set, context)
            target = op.target_of(context)
            op.trigger_time = as_set
            op.project_id = target.project_id  # one GetTask at most, not one per date
            bizdate = bizdate_ms(target.trigger_time_ms, target.zone)
            key = (op.dataworks_conn_id, target.project_id, target.env_type, target.task_id, bizdate)
            if key not in days:
                days[key] = op.hook.list_instances(
                    target.project_id, bizdate, task_id=target.task_id, env_type=target.env_type
                )
            inst, found = _lookup(days[key], target.task_id, target.trigger_time_ms, target.zone)
            status, action, calls = _outcome(inst, found, project_id_known)
            trigger_time_ms = inst.trigger_time_ms if inst and inst.trigger_time_ms else target.trigger_time_ms
            rows.append(
                PlanRow(
                    logical_date=pendulum.instance(info.logical_date).in_timezone("UTC").isoformat(),
                    task_id=op.task_id,
                    dataworks_task_id=target.task_id,
                    trigger_time_ms=trigger_time_ms,
                    scheduled_time=format_in_zone(trigger_time_ms, target.zone),
                    instance_id=inst.id if inst else None,
                    status=status,
                    action=action,
                    calls=calls,
                    plus_polls=bool(op.wait_for_completion),
                    writes=1 if action == "triggers" else 0,
                )
            )
    first = ops[0].hook.settings
    return Plan(
        rows, len(days), first.daily_quota, str(first.daily_quota_reset), first.conn_id, first.read_qps,
        first.write_qps,
    )  # fmt: skip


def format_table(plan: Plan) -> str:
    """The plan as a table and a summary line."""
    header = ("logical date (UTC)", "task", "TriggerTime", "scheduled (zone)", "instance", "status", "the run", "calls")
    lines = [
        (r.logical_date, r.task_id, str(r.trigger_time_ms), r.scheduled_time, str(r.instance_id or "-"), r.status,
         r.action, f"{r.calls}{'+polls' if r.plus_polls else ''}")
        for r in plan.rows
    ]  # fmt: skip
    widths = [max(len(c) for c in col) for col in zip(header, *lines, strict=True)]
    out = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in (header, *lines)]
    polls = "; +1 read per poll where a task waits" if any(r.plus_polls for r in plan.rows) else ""
    out.append(
        f"{len(plan.rows)} runs spend {plan.calls} calls ({plan.reads} reads, {plan.writes} writes{polls}): at the "
        f"account's {plan.read_qps:g} read / {plan.write_qps:g} write QPS (connection {plan.conn_id!r}; shared by "
        f"every process on the account in this region) at least {_seconds(plan.read_seconds)} of reads and "
        f"{_seconds(plan.write_seconds)} of writes; {_share(plan.monthly_free_share)} of the "
        f"{ENTERPRISE_MONTHLY_FREE_CALLS:,} calls a month Enterprise has free. "
        f"This plan spent {plan.list_calls} ListTaskInstances (reads) of the same account."
    )
    if plan.daily_quota:
        out.append(
            f"Against the connection's daily quota of {plan.daily_quota} (resets {plan.daily_quota_reset}): the "
            f"backfill spans {plan.quota_days} quota day(s); a task that meets the quota waits for the reset."
        )
    return "\n".join(out)


def _seconds(value: float) -> str:
    """``0.4 s``, ``12 s``, ``3.5 min``."""
    if value >= 120:
        return f"{value / 60:.1f} min"
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


def _share(value: float) -> str:
    """A share as a percentage with two significant digits (``0.012%``)."""
    return f"{value * 100:.2g}%" if value else "0%"


def parse_moment(text: str, argument: str) -> datetime:
    """``--start``/``--end`` as an aware datetime; a naive one is read in Airflow's [core] default_timezone
    (UTC unless set), as ``airflow backfill create`` reads it."""
    from airflow.configuration import conf

    name = conf.get("core", "default_timezone", fallback="utc")
    zone = pendulum.tz.local_timezone() if name == "system" else name
    try:
        moment = pendulum.parser.parse(text, tz=zone)
    except ValueError as err:  # pendulum's ParserError is one
        raise SystemExit(f"{argument} {text!r} is not an ISO-8601 date or time (e.g. 2026-10-01): {err}") from None
    if not isinstance(moment, datetime):
        raise SystemExit(f"{argument} {text!r} is not a date or time (e.g. 2026-10-01 or 2026-10-01T00:30:00+08:00)")
    return moment


def check_range(start: datetime, end: datetime) -> None:
    """``--end`` not before ``--start``, and at most :data:`MAX_RANGE_DAYS` days apart."""
    if end < start:
        raise SystemExit(f"--end {end.isoformat()} is before --start {start.isoformat()}: swap them")
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        raise SystemExit(
            f"--start {start.isoformat()} .. --end {end.isoformat()} spans {(end - start).days} days; plan at most "
            f"{MAX_RANGE_DAYS} at a time (each business date costs one ListTaskInstances): split the range"
        )


@contextmanager
def _stdout_for_the_plan_only() -> Iterator[TextIO]:
    """A stream to the process's stdout; inside the block, anything else written there goes to stderr.

    Airflow logs to stdout (the DagBag's INFO line, connection look-ups), which would garble ``--json``.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with os.fdopen(os.dup(saved), "w") as plan_out:
            yield plan_out
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def load_dag(dag_id: str | None, dag_file: str | None, dags_folder: str | None) -> Any:
    """The DAG ``dag_id`` (or the only one) of ``dag_file``, else of the dags folder (Airflow's, by default)."""
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2.x
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

    where = dag_file or dags_folder
    bag = DagBag(where)
    if dag_file and not bag.dags and not bag.import_errors:
        raise SystemExit(f"--dag-file {dag_file!r}: no DAG found there (is the path right?)")
    if dag_id is None:
        if len(bag.dags) != 1:
            raise SystemExit(f"--dag-file {dag_file!r} has {len(bag.dags)} DAGs: name one with --dag-id")
        return next(iter(bag.dags.values()))
    dag = bag.dags.get(dag_id)
    if dag is None:
        errors = f"; files that failed to import: {sorted(bag.import_errors)}" if bag.import_errors else ""
        raise SystemExit(f"--dag-id {dag_id!r}: no such DAG in {where or 'the dags folder'}{errors}")
    return dag


def run(args: argparse.Namespace) -> int:
    """Print the plan for parsed ``args`` to stdout, Airflow's logs to stderr (``SystemExit`` naming the argument
    on bad input)."""
    if not args.dag_id and not args.dag_file:
        raise SystemExit("--dag-id or --dag-file: name the DAG to plan")
    start, end = parse_moment(args.start, "--start"), parse_moment(args.end, "--end")
    check_range(start, end)
    with _stdout_for_the_plan_only() as plan_out:
        dag = load_dag(args.dag_id, args.dag_file, args.dags_folder)
        plan = plan_backfill(dag, start, end, args.task_id)
        print(json.dumps(plan.to_json(), indent=2) if args.json else format_table(plan), file=plan_out)
    return 0


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_dataworks.cli.plan", description=HELP)
    add_arguments(parser)
    return run(parser.parse_args(list(argv) if argv is not None else None))


if __name__ == "__main__":
    sys.exit(main())
