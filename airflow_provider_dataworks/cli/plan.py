"""``airflow dataworks plan``: before a backfill spends quota, what each logical date releases and what it costs.

``python -m airflow_provider_dataworks.cli.plan --dag-id ID --start 2026-09-27 --end 2026-11-25 [--json]`` (on Airflow
3.2+ also ``airflow dataworks plan ...``; arguments in ``cli/options.py``). ``--start``/``--end`` without an offset
are read in Airflow's [core] default_timezone (UTC unless set), as ``airflow backfill create`` reads them.

First it runs ``airflow dataworks check`` on the DAG's DataWorks tasks (``cli/check.py``'s :func:`check_dags`, one
GetTask per node) for the range's runs: a mismatch does not stop the plan, it is printed first. Then, for every
``DataWorksTriggerOperator`` of the DAG (or ``--task-id``) and every logical date the DAG's timetable makes in
[start, end] whose data interval has ended (as ``airflow backfill create`` does), it prints the TriggerTime and
the fire time in the node's scheduling zone, the instance it names (id, status), what the run will do and the
calls it will spend (reads and writes; per path: see docs/concepts/api-calls.md), polls included: a waiting
run's polls are estimated from the task's ``poll_interval`` / ``max_poll_interval`` backoff
(``domain/waiting.py``) and ``--expected-duration`` (default 600 s), nothing changing until the end. Then the
time those calls need at the account's QPS (``read_qps`` / ``write_qps``), their share of Enterprise's free calls
a month, and, only where the connection sets ``daily_quota``, the quota days they span. It takes the operator's
own steps: its ``target_of`` (the run's date to a TriggerTime in the scheduling zone) and the hook's
``list_instances`` + ``match_instance``.

Its own cost: one GetTask per node (the check), **one ListTaskInstances per business date** (and node; +1 per 500
instances), +1 GetTask per task when neither the operator nor the connection has a project id; it never triggers.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pendulum

from airflow_provider_dataworks.cli.check import CheckReport, check_dags, format_report
from airflow_provider_dataworks.cli.options import DEFAULT_EXPECTED_DURATION_S, PLAN_HELP, PLAN_OPTIONS, module_parser
from airflow_provider_dataworks.cli.shared_io import dag_bag, stdout_for_the_report_only
from airflow_provider_dataworks.domain.api_calls import match_instance
from airflow_provider_dataworks.domain.api_limits import ENTERPRISE_MONTHLY_FREE_CALLS
from airflow_provider_dataworks.domain.api_records import TaskInstance, TaskInstanceStatus
from airflow_provider_dataworks.domain.timing import bizdate_ms, format_in_zone
from airflow_provider_dataworks.domain.waiting import BACKOFF_FACTOR, DEFAULT_CAP_FACTOR, PollPacer, poll_cap
from airflow_provider_dataworks.exceptions import InstanceNotFoundError, InstanceNotGeneratedError

#: The longest range one plan covers: each date costs one ListTaskInstances of the same quota.
MAX_RANGE_DAYS = 366
#: The longest ``--expected-duration``: a wait DataWorks keeps going this long is a stuck one.
MAX_EXPECTED_DURATION_S = 7 * 24 * 3600.0


@dataclass(frozen=True)
class PlanRow:
    """One logical date of one trigger task."""

    logical_date: str  # ISO-8601, UTC
    task_id: str
    dataworks_task_id: int
    trigger_time_ms: int  # epoch milliseconds
    scheduled_time: str  # the TriggerTime (the run's fire time) in the node's scheduling zone, with its offset
    instance_id: int | None
    status: str  # the instance's status, or "-" when there is none
    action: str  # what the run will do
    calls: int  # what the run will spend, polls aside (see ``polls``)
    plus_polls: bool  # the run waits: ``polls`` reads come on top of ``calls``
    writes: int = 0  # of ``calls``, the writes (the trigger); the rest are reads
    polls: int = 0  # the reads its wait is estimated to make (``--expected-duration``); 0: the run does not wait
    zone: str = ""  # the node's scheduling zone (the operator's ``timezone`` or the connection's)


@dataclass(frozen=True)
class Plan:
    rows: list[PlanRow]
    list_calls: int  # what making the plan spent: ListTaskInstances
    daily_quota: int | None  # calls a day of the connection's account and region; None: no daily cap
    daily_quota_reset: str  # "HH:MM:SS Zone"
    conn_id: str
    read_qps: float = 50.0  # the account's limits in the region (connection extras read_qps / write_qps)
    write_qps: float = 20.0
    check: CheckReport | None = None  # the schedule check run first (``airflow dataworks check``)
    get_task_calls: int = 0  # what making the plan spent besides: GetTask (the check's, a workspace look-up)
    expected_duration_s: float = DEFAULT_EXPECTED_DURATION_S  # what the poll estimate assumes a wait lasts
    start: str = ""  # the range as read (ISO-8601, with the offset)
    end: str = ""
    naive_zone: str = "UTC"  # where --start/--end without an offset are read ([core] default_timezone)

    @property
    def polls(self) -> int:
        """The reads the runs' waits are estimated to make (in :attr:`calls` and :attr:`reads`)."""
        return sum(r.polls for r in self.rows)

    @property
    def calls(self) -> int:
        return sum(r.calls + r.polls for r in self.rows)

    @property
    def writes(self) -> int:
        return sum(r.writes for r in self.rows)

    @property
    def reads(self) -> int:
        return self.calls - self.writes

    @property
    def plan_calls(self) -> int:
        """What making the plan spent (its check included): reads of the same account."""
        return self.list_calls + self.get_task_calls

    @property
    def read_seconds(self) -> float:
        """The least time the reads take at the account's read QPS (were nothing else of the account calling)."""
        return self.reads / self.read_qps

    @property
    def write_seconds(self) -> float:
        return self.writes / self.write_qps

    @property
    def monthly_free_share(self) -> float:
        """The calls as a share of Enterprise's free calls a month (the plan's own calls aside)."""
        return self.calls / ENTERPRISE_MONTHLY_FREE_CALLS

    @property
    def quota_days(self) -> int | None:
        """Quota days the backfill spans at least (a task that meets the quota waits for the reset); None without a
        daily cap."""
        return math.ceil(self.calls / self.daily_quota) if self.daily_quota else None

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check.to_json() if self.check else None,
            "start": self.start,
            "end": self.end,
            "naive_dates_read_in": self.naive_zone,
            "rows": [asdict(r) for r in self.rows],
            "calls": self.calls,
            "reads": self.reads,
            "writes": self.writes,
            "polls": self.polls,
            "plus_polls": any(r.plus_polls for r in self.rows),
            "polls_estimated": True,
            "expected_duration_s": self.expected_duration_s,
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
            "plan_get_task_calls": self.get_task_calls,
            "plan_calls": self.plan_calls,
            "dataworks_conn_id": self.conn_id,
        }


def estimated_polls(poll_interval: float, max_poll_interval: float | None, duration_s: float) -> int:
    """The polls of a wait whose target ends ``duration_s`` after the wait starts, no status changing before.

    The operator's and the trigger's pacing (``domain/waiting.py``): the first poll one ``poll_interval`` after the
    trigger, the next after :class:`PollPacer`'s interval (the same again after the first poll, then 1.5 times
    longer per unchanged poll up to ``max_poll_interval``, by default 4 x ``poll_interval``); the poll at or after
    ``duration_s`` sees the end. Deferred waits on shared cycles may poll a cycle sooner: an estimate.
    """
    pacer = PollPacer(poll_interval, poll_cap(poll_interval, max_poll_interval))
    unchanged = {"target": "Running"}
    elapsed, polls = float(poll_interval), 1
    while elapsed < duration_s:
        elapsed += pacer.after(unchanged)
        polls += 1
    return polls


def _wait_polls(op: Any, inst: TaskInstance | None, action: str, duration_s: float) -> int:
    """The polls the run of ``op`` makes (0: it does not wait, or fails before waiting)."""
    if not op.wait_for_completion or not action.startswith(("triggers", "succeeds")):
        return 0
    if action != "triggers" and inst is not None and inst.status == TaskInstanceStatus.SUCCESS:
        return 1  # released and done already: the first poll sees it (a rerun_failed try's first poll, the same)
    timeout = getattr(op, "timeout", None)
    wait_s = min(duration_s, float(timeout)) if isinstance(timeout, (int, float)) and timeout else duration_s
    repair_poll = 1 if action != "triggers" and getattr(op, "rerun_failed", False) else 0  # a try's first look
    return estimated_polls(float(op.poll_interval), op.max_poll_interval, wait_s) + repair_poll


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


def _backfill_context(dag: Any, info: Any) -> dict[str, Any]:
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


def _run_outcome(inst: TaskInstance | None, found: str, project_id_known: bool) -> tuple[str, str, int]:
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


def _instance_named(
    day: list[TaskInstance], task_id: int, trigger_time_ms: int, zone: str
) -> tuple[TaskInstance | None, str]:
    """The instance of the day's list the run's TriggerTime names, or None and what the run will do then."""
    try:
        return match_instance(day, task_id, trigger_time_ms, zone), ""
    except InstanceNotGeneratedError:
        return None, "retries: not generated yet (1 call a try)"
    except InstanceNotFoundError:
        return None, "fails: no instance at this time"


def _run_target(op: Any, dag: Any, info: Any) -> Any:
    """The operator's ``RunTarget`` for the run ``info`` (its ``trigger_time`` template rendered for that date)."""
    context = _backfill_context(dag, info)
    as_set = op.trigger_time
    if isinstance(as_set, str) and "{{" in as_set:
        op.trigger_time = op.render_template(as_set, context)
    target = op.target_of(context)
    op.trigger_time = as_set
    op.project_id = target.project_id  # one GetTask at most, not one per date
    return target


def _plan_row(
    op: Any, info: Any, target: Any, day: list[TaskInstance], project_id_known: bool, duration_s: float
) -> PlanRow:
    """The plan's row for one run of ``op``: the instance its TriggerTime names in ``day`` and what the run does."""
    inst, found = _instance_named(day, target.task_id, target.trigger_time_ms, target.zone)
    status, action, calls = _run_outcome(inst, found, project_id_known)
    trigger_time_ms = inst.trigger_time_ms if inst and inst.trigger_time_ms else target.trigger_time_ms
    polls = _wait_polls(op, inst, action, duration_s)
    return PlanRow(
        logical_date=pendulum.instance(info.logical_date).in_timezone("UTC").isoformat(),
        task_id=op.task_id,
        dataworks_task_id=target.task_id,
        trigger_time_ms=trigger_time_ms,
        scheduled_time=format_in_zone(trigger_time_ms, target.zone),
        instance_id=inst.id if inst else None,
        status=status,
        action=action,
        calls=calls,
        plus_polls=polls > 0,
        writes=1 if action == "triggers" else 0,
        polls=polls,
        zone=target.zone,
    )


def schedule_check(dag: Any, start: datetime, runs: int) -> CheckReport:
    """``airflow dataworks check`` of the DAG's DataWorks tasks over the backfill's runs (from ``start``, as many
    as the range has; plus the runs around the next year's daylight-saving changes): one GetTask per node."""
    return check_dags([dag], fire_times=max(1, runs), now=start)


def _ended_runs(dag: Any, start: datetime, end: datetime) -> list[Any]:
    """The DAG's runs in [start, end] whose data interval has ended, or a clear exit when there is none."""
    infos = run_dates(dag, start, end)
    if not infos:
        raise SystemExit(
            f"--start {start.isoformat()} / --end {end.isoformat()}: DAG {dag.dag_id!r} (schedule "
            f"{getattr(dag.timetable, 'summary', dag.timetable)}) has no run in that range whose interval has ended"
        )
    return infos


def plan_backfill(
    dag: Any,
    start: datetime,
    end: datetime,
    task_ids: Sequence[str] | None = None,
    expected_duration_s: float = DEFAULT_EXPECTED_DURATION_S,
    check: bool = True,
) -> Plan:
    """The plan for the DataWorks trigger tasks of ``dag`` (or ``task_ids``) over logical dates [start, end].

    First the schedule check (``check``; one GetTask per node), then one ListTaskInstances per (node, business
    date) and at most one GetTask per task; never triggers. A waiting run's polls are estimated for a wait of
    ``expected_duration_s`` seconds (:func:`estimated_polls`).
    """
    ops = _trigger_tasks(dag, task_ids)
    infos = _ended_runs(dag, start, end)
    report = schedule_check(dag, start, len(infos)) if check else None
    rows: list[PlanRow] = []
    days: dict[tuple[Any, ...], list[TaskInstance]] = {}  # one ListTaskInstances per (node, business date)
    workspace_look_ups = 0
    for op in ops:
        project_id_known = bool(op.project_id or op.hook.settings.project_id)
        workspace_look_ups += 0 if project_id_known else 1  # target_of's GetTask, once: then op.project_id is set
        for info in infos:
            target = _run_target(op, dag, info)
            bizdate = bizdate_ms(target.trigger_time_ms, target.zone)
            key = (op.dataworks_conn_id, target.project_id, target.env_type, target.task_id, bizdate)
            if key not in days:
                days[key] = op.hook.list_instances(
                    target.project_id, bizdate, task_id=target.task_id, env_type=target.env_type
                )
            rows.append(_plan_row(op, info, target, days[key], project_id_known, expected_duration_s))
    first = ops[0].hook.settings
    return Plan(
        rows,
        list_calls=len(days),
        daily_quota=first.daily_quota,
        daily_quota_reset=str(first.daily_quota_reset),
        conn_id=first.conn_id,
        read_qps=first.read_qps,
        write_qps=first.write_qps,
        check=report,
        get_task_calls=(report.get_task_calls if report else 0) + workspace_look_ups,
        expected_duration_s=expected_duration_s,
        start=pendulum.instance(start).isoformat(),
        end=pendulum.instance(end).isoformat(),
        naive_zone=naive_dates_zone(),
    )


def _table_row(row: PlanRow, zone_in_header: bool) -> tuple[str, ...]:
    """One row of :func:`format_table`: the columns of its header, as text."""
    calls = f"{row.calls}+{row.polls} polls" if row.polls else str(row.calls)
    instance = str(row.instance_id or "-")
    fires = row.scheduled_time if zone_in_header else f"{row.scheduled_time} {row.zone}"
    return (
        row.logical_date,
        row.task_id,
        str(row.trigger_time_ms),
        fires,
        instance,
        row.status,
        row.action,
        calls,
    )


def format_check(report: CheckReport) -> list[str]:
    """The schedule check's report (as ``airflow dataworks check`` prints it), and what a mismatch means here."""
    out = ["Schedule check (airflow dataworks check) of the DAG's DataWorks tasks over the range's runs:"]
    out += [f"  {line}" for line in format_report(report).splitlines()]
    mismatched = [c.task_id for c in report.checks if c.status == "mismatch"]
    if mismatched:
        out.append(
            f"MISMATCH (task {', '.join(mismatched)}): the DAG's runs name instances the node does not schedule "
            "(see above). The plan below still lists what each run would find and spend (often 'fails: no "
            "instance at this time'); fix the schedule or the zone before the backfill."
        )
    elif any(c.status == "error" for c in report.checks):
        out.append("The check could not read every node (ERROR above); the plan below reads the instances anyway.")
    return out


def format_header(plan: Plan) -> list[str]:
    """What the rows assume: the range as read, the zone of the fire times, how polls are estimated."""
    out = [
        f"Logical dates {plan.start} .. {plan.end}: --start/--end without an offset are read as {plan.naive_zone} "
        "([core] default_timezone), as airflow backfill create does. Each row's fire time (TriggerTime) is shown "
        "in the node's scheduling zone, with its offset."
    ]
    if any(r.plus_polls for r in plan.rows):
        out.append(
            f"Polls (+N polls) are an estimate from --expected-duration {plan.expected_duration_s:g} s: each waiting "
            f"run's wait lasts that long from its trigger with no status changing until it ends, so it polls one "
            f"poll_interval after the trigger, then {BACKOFF_FACTOR:g}x longer each poll up to max_poll_interval "
            f"(default {DEFAULT_CAP_FACTOR} x poll_interval); 1 read a poll. A run already released whose instance "
            "succeeded polls once; a run that fails without waiting never polls."
        )
    return out


def format_table(plan: Plan) -> str:
    """The plan: the schedule check, what the rows assume, a table and a summary line."""
    zones = {r.zone for r in plan.rows}
    zone_in_header = len(zones) == 1
    fires = f"fires in {next(iter(zones))}" if zone_in_header else "fires (node's zone)"
    header = ("logical date (UTC)", "task", "TriggerTime", fires, "instance", "status", "the run", "calls")
    lines = [_table_row(r, zone_in_header) for r in plan.rows]
    widths = [max(len(c) for c in col) for col in zip(header, *lines, strict=True)]
    out = format_check(plan.check) if plan.check else []
    out += format_header(plan)
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in (header, *lines)]
    reads = f"{plan.reads} reads, {plan.polls} of them estimated polls" if plan.polls else f"{plan.reads} reads"
    spent = [f"{plan.list_calls} ListTaskInstances"]
    if plan.get_task_calls:
        spent.insert(0, f"{plan.get_task_calls} GetTask")
    out.append(
        f"{len(plan.rows)} runs spend {plan.calls} calls ({reads}, {plan.writes} writes): at the "
        f"account's {plan.read_qps:g} read / {plan.write_qps:g} write QPS (connection {plan.conn_id!r}; shared by "
        f"every process on the account in this region) at least {_seconds(plan.read_seconds)} of reads and "
        f"{_seconds(plan.write_seconds)} of writes; {_share(plan.monthly_free_share)} of the "
        f"{ENTERPRISE_MONTHLY_FREE_CALLS:,} calls a month Enterprise has free. "
        f"This plan spent {' + '.join(spent)} (reads) of the same account."
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


def naive_dates_zone() -> str:
    """The zone ``--start``/``--end`` without an offset are read in: Airflow's [core] default_timezone (UTC unless
    set), where ``airflow backfill create`` reads its dates."""
    from airflow.configuration import conf

    name = conf.get("core", "default_timezone", fallback="utc")
    if name == "system":
        return str(pendulum.tz.local_timezone().name)
    return "UTC" if name.lower() == "utc" else name


def parse_moment(text: str, argument: str) -> datetime:
    """``--start``/``--end`` as an aware datetime; a naive one is read in Airflow's [core] default_timezone
    (UTC unless set), as ``airflow backfill create`` reads it."""
    try:
        moment = pendulum.parser.parse(text, tz=naive_dates_zone())
    except ValueError as err:  # pendulum's ParserError is one
        raise SystemExit(f"{argument} {text!r} is not an ISO-8601 date or time (e.g. 2026-10-01): {err}") from None
    if not isinstance(moment, datetime):
        raise SystemExit(f"{argument} {text!r} is not a date or time (e.g. 2026-10-01 or 2026-10-01T00:30:00+08:00)")
    return moment


def check_expected_duration(seconds: float) -> float:
    """``--expected-duration``: more than 0, at most :data:`MAX_EXPECTED_DURATION_S`."""
    if not 0 < seconds <= MAX_EXPECTED_DURATION_S:
        raise SystemExit(
            f"--expected-duration {seconds:g}: seconds a waiting run's wait is expected to last, more than 0 and at "
            f"most {MAX_EXPECTED_DURATION_S:g} (7 days)"
        )
    return seconds


def check_range(start: datetime, end: datetime) -> None:
    """``--end`` not before ``--start``, and at most :data:`MAX_RANGE_DAYS` days apart."""
    if end < start:
        raise SystemExit(f"--end {end.isoformat()} is before --start {start.isoformat()}: swap them")
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        raise SystemExit(
            f"--start {start.isoformat()} .. --end {end.isoformat()} spans {(end - start).days} days; plan at most "
            f"{MAX_RANGE_DAYS} at a time (each business date costs one ListTaskInstances): split the range"
        )


def load_dag(dag_id: str | None, dag_file: str | None, dags_folder: str | None) -> Any:
    """The DAG ``dag_id`` (or the only one) of ``dag_file``, else of the dags folder (Airflow's, by default)."""
    where = dag_file or dags_folder
    bag = dag_bag(where)
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
    duration = check_expected_duration(args.expected_duration)
    with stdout_for_the_report_only() as plan_out:
        dag = load_dag(args.dag_id, args.dag_file, args.dags_folder)
        plan = plan_backfill(dag, start, end, args.task_id, duration)
        print(json.dumps(plan.to_json(), indent=2, default=str) if args.json else format_table(plan), file=plan_out)
    return 0


def airflow_command(args: argparse.Namespace) -> None:
    """``airflow dataworks plan`` (Airflow 3.2+): print the plan for parsed ``args`` (exits non-zero on bad input)."""
    run(args)


def main(argv: Iterable[str] | None = None) -> int:
    """``python -m airflow_provider_dataworks.cli.plan``: every Airflow version, the same arguments."""
    parser = module_parser("airflow_provider_dataworks.cli.plan", PLAN_HELP, PLAN_OPTIONS)
    return run(parser.parse_args(list(argv) if argv is not None else None))


if __name__ == "__main__":
    sys.exit(main())
