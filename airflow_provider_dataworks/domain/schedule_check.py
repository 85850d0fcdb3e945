"""Your DAG against your node: does the DAG's schedule name the node's instances? (pure logic, no I/O, no Airflow)

A DataWorks node's schedule is ``GetTask``'s ``Task.Trigger.Cron``: a 6-field Quartz cron (``00 30 00 * * ?``:
seconds, minutes, hours, day-of-month, month, day-of-week, optional year), read as wall-clock time in the
workspace's scheduling zone. :func:`parse_quartz` reads it (and the 5-field form), :func:`node_instances` turns it
into the instances DataWorks generates, with its daylight-saving and cycle rules (shared docs §1, §6):

- a wall time the clocks skip (spring forward) is dropped when the node runs several times a day; a node that runs
  once a day is delayed one hour and that instance is a dry run;
- a wall time that occurs twice (fall back) is kept once, at its second occurrence;
- a weekly / monthly node gets an instance on every day: outside its cycle a ``SkipCycle`` dry run.

:func:`compare` takes the TriggerTimes of the DAG's next runs (what the operator sends: a scheduled run's
``data_interval_end``) and says what differs and how to fix it, the DAG side first: a zone mismatch, a schedule
mismatch (naming both crons), runs that land on the dry runs of a weekly node, and daylight-saving days.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from airflow_provider_dataworks.domain.timing import from_epoch_ms, kept_occurrence, to_epoch_ms

_MONTHS = {
    m: i for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)
}
_QUARTZ_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}  # Quartz: 1 = Sunday
_DAY_NAMES = ("Sundays", "Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays")
_UNSUPPORTED = re.compile(r"[LW#C]")  # Quartz's last / weekday / nth / calendar: not supported here


class UnsupportedCron(ValueError):
    """A cron this check cannot read; the message names the field and what is not supported."""


@dataclass(frozen=True)
class QuartzCron:
    """A parsed node schedule. ``days_of_week`` counts 0 = Sunday (as 5-field cron does); None means "any"."""

    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None
    months: frozenset[int]
    days_of_week: frozenset[int] | None
    years: frozenset[int] | None = None
    cron5: str = ""  # the same schedule as a 5-field cron (croniter's, Airflow's), when seconds are 0

    def runs_on(self, day: date) -> bool:
        """Whether the node runs on ``day`` (a calendar date in its zone)."""
        if self.years is not None and day.year not in self.years:
            return False
        if day.month not in self.months:
            return False
        if self.days_of_month is not None and day.day not in self.days_of_month:
            return False
        return self.days_of_week is None or (day.weekday() + 1) % 7 in self.days_of_week

    def wall_times(self) -> list[time]:
        """The wall-clock times of a day it runs at, sorted."""
        return [time(h, m, s) for h in sorted(self.hours) for m in sorted(self.minutes) for s in sorted(self.seconds)]

    @property
    def shown(self) -> str:
        """The cron as users compare it with an Airflow schedule: the 5-field form when there is one."""
        return self.cron5 or self.expression

    @property
    def cycle(self) -> str | None:
        """``on Mondays`` / ``on days 1 of the month``: the cycle of a node that does not run every day, else None."""
        parts = []
        if self.days_of_week is not None and len(self.days_of_week) < 7:
            parts.append("on " + ", ".join(_DAY_NAMES[d] for d in sorted(self.days_of_week)))
        if self.days_of_month is not None:
            parts.append("on day(s) " + ",".join(str(d) for d in sorted(self.days_of_month)) + " of the month")
        if len(self.months) < 12:
            parts.append("in month(s) " + ",".join(str(m) for m in sorted(self.months)))
        if self.years is not None:
            parts.append("in " + ",".join(str(y) for y in sorted(self.years)))
        return " and ".join(parts) or None


def _parse_value(text: str, names: dict[str, int], what: str, expression: str) -> int:
    upper = text.upper()
    if upper in names:
        return names[upper]
    if not text.isdigit():
        raise UnsupportedCron(f"cron {expression!r}: {text!r} is not a number or a name in the {what} field")
    return int(text)


def _parse_field(
    text: str, low: int, high: int, what: str, expression: str, names: dict[str, int] | None = None
) -> frozenset[int]:
    """Numbers, names, ``*``, ranges ``a-b``, steps ``a/n``, ``*/n``, ``a-b/n`` and lists of them."""
    odd = [w.upper() for w in re.findall(r"[A-Za-z]+", text) if w.upper() not in (names or {})]
    if "#" in text or any(_UNSUPPORTED.search(w) for w in odd):
        raise UnsupportedCron(
            f"cron {expression!r}: the {what} field {text!r} uses L, W, # or C (last day, nearest weekday, n-th "
            "weekday, calendar), which this check does not support: compare the node's schedule with the DAG's by hand"
        )
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise UnsupportedCron(f"cron {expression!r}: bad step {step_text!r} in the {what} field")
            step = int(step_text)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _parse_value(a, names or {}, what, expression), _parse_value(b, names or {}, what, expression)
        else:
            start = _parse_value(part, names or {}, what, expression)
            end = high if step > 1 else start
        if not (low <= start <= high and low <= end <= high and start <= end):
            raise UnsupportedCron(f"cron {expression!r}: the {what} field {text!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _plain(token: str) -> str:
    """``00`` -> ``0``: numbers without leading zeros (how Airflow users write a cron)."""
    return re.sub(r"\d+", lambda m: str(int(m.group())), token)


#: The six fields every cron form has here: second, minute, hour, day-of-month, month, day-of-week.
CronFields = tuple[str, str, str, str, str, str]


def _split_cron(expression: str) -> tuple[CronFields, str | None, bool]:
    """The six fields (a 5-field cron's second is ``0``), the year (None: no year field), and whether it is Quartz."""
    fields = (expression or "").split()
    if len(fields) == 5:
        minute, hour, dom, month, dow = fields
        return ("0", minute, hour, dom, month, dow), None, False
    if len(fields) in (6, 7):
        second, minute, hour, dom, month, dow = fields[:6]
        return (second, minute, hour, dom, month, dow), fields[6] if len(fields) == 7 else None, True
    raise UnsupportedCron(
        f"cron {expression!r}: expected 6 or 7 Quartz fields (ss mm HH dom mon dow [year], e.g. '00 30 00 * * ?')"
        " or 5 cron fields (m h dom mon dow)"
    )


def _days_of_week(dow: str, quartz: bool, expression: str) -> tuple[frozenset[int] | None, str]:
    """The day-of-week field as days counted 0 = Sunday (None: any day) and as a 5-field cron writes it."""
    if dow in ("*", "?"):
        return None, "*"
    if quartz:
        days = _parse_field(dow, 1, 7, "day-of-week", expression, _QUARTZ_DAYS)
        return frozenset(d - 1 for d in days), re.sub(r"\d+", lambda m: str(int(m.group()) - 1), dow)
    days = _parse_field(dow, 0, 7, "day-of-week", expression, {k: v - 1 for k, v in _QUARTZ_DAYS.items()})
    return frozenset(d % 7 for d in days), _plain(dow)


def parse_quartz(expression: str) -> QuartzCron:
    """A node's cron: Quartz ``ss mm HH dom mon dow [year]`` (DataWorks' ``Trigger.Cron``), or 5-field ``m h dom mon
    dow``. Quartz day-of-week counts 1-7 = SUN-SAT (or names); ``?`` means no value. One of day-of-month and
    day-of-week must be unrestricted. L, W, # and C raise :class:`UnsupportedCron`."""
    (second, minute, hour, dom, month, dow), year, quartz = _split_cron(expression)
    dom_any, dow_any = dom in ("*", "?"), dow in ("*", "?")
    if not dom_any and not dow_any:
        raise UnsupportedCron(
            f"cron {expression!r}: both day-of-month {dom!r} and day-of-week {dow!r} are set; Quartz wants one of them "
            "'?' (and 5-field cron would run on either): not supported"
        )
    if "?" in (minute, hour, month, second) or (year or "") == "?":
        raise UnsupportedCron(f"cron {expression!r}: '?' only stands for day-of-month or day-of-week")
    days_of_week, dow_cron = _days_of_week(dow, quartz, expression)
    seconds = _parse_field(second, 0, 59, "seconds", expression)
    years = None if year in (None, "*") else _parse_field(str(year), 1970, 2199, "year", expression)
    cron = QuartzCron(
        expression=expression,
        seconds=seconds,
        minutes=_parse_field(minute, 0, 59, "minutes", expression),
        hours=_parse_field(hour, 0, 23, "hours", expression),
        days_of_month=None if dom_any else _parse_field(dom, 1, 31, "day-of-month", expression),
        months=_parse_field(month, 1, 12, "month", expression, _MONTHS),
        days_of_week=days_of_week,
        years=years,
    )
    if seconds == frozenset({0}) and years is None:
        cron5 = " ".join((_plain(minute), _plain(hour), "*" if dom_any else _plain(dom), _plain(month), dow_cron))
        cron = QuartzCron(**{**asdict(cron), "cron5": cron5})
    return cron


@dataclass(frozen=True)
class NodeInstance:
    """One instance DataWorks generates for the node: its scheduled instant and, for a dry run, why."""

    at: datetime  # aware, UTC
    dry_run: str | None = None  # "SkipCycle" (outside a weekly/monthly cycle) | "DST" (delayed past a skipped hour)

    @property
    def ms(self) -> int:
        return to_epoch_ms(self.at)


def _resolve(day: date, wall: time, zone: ZoneInfo) -> datetime | None:
    """``day`` ``wall`` in ``zone`` as UTC: None when the clocks skip it, its second occurrence when repeated."""
    local = datetime.combine(day, wall, tzinfo=zone).replace(fold=1)
    utc = local.astimezone(timezone.utc)
    if utc.astimezone(zone).replace(tzinfo=None) != datetime.combine(day, wall):
        return None
    return utc


def instances_on(cron: QuartzCron, day: date, zone: str) -> list[NodeInstance]:
    """The instances DataWorks generates for a node with ``cron`` on ``day`` (a date in the scheduling ``zone``)."""
    tz = ZoneInfo(zone)
    walls = cron.wall_times()
    off_cycle = not cron.runs_on(day)
    out: list[NodeInstance] = []
    for wall in walls:
        at = _resolve(day, wall, tz)
        dry = "SkipCycle" if off_cycle else None
        if at is None:
            if len(walls) != 1:
                continue
            at = _resolve(day, (datetime.combine(day, wall) + timedelta(hours=1)).time(), tz)
            if at is None:
                continue
            dry = dry or "DST"
        out.append(NodeInstance(at, dry))
    return out


def node_instances(cron: QuartzCron, zone: str, start: datetime, end: datetime) -> list[NodeInstance]:
    """The node's instances scheduled in [``start``, ``end``] (aware datetimes), in order."""
    first = start.astimezone(ZoneInfo(zone)).date() - timedelta(days=1)
    last = end.astimezone(ZoneInfo(zone)).date() + timedelta(days=1)
    out: list[NodeInstance] = []
    day = first
    while day <= last:
        out += [i for i in instances_on(cron, day, zone) if start <= i.at <= end]
        day += timedelta(days=1)
    return out


def fire_times(cron: QuartzCron, zone: str, after: datetime, count: int, *, dry_runs: bool = False) -> list[datetime]:
    """The next ``count`` scheduled times of the node at or after ``after`` (aware, UTC), as DataWorks schedules
    them in ``zone`` (daylight saving as above); dry runs only with ``dry_runs``. Looks at most 4 years ahead."""
    out: list[datetime] = []
    day = after.astimezone(ZoneInfo(zone)).date()
    for _ in range(4 * 366):
        out += [i.at for i in instances_on(cron, day, zone) if i.at >= after and (dry_runs or i.dry_run is None)]
        if len(out) >= count:
            break
        day += timedelta(days=1)
    return out[:count]


def dst_transitions(zone: str, start: datetime, days: int = 366) -> list[date]:
    """The dates in ``zone`` on which its UTC offset changes, within ``days`` from ``start``."""
    tz = ZoneInfo(zone)
    out = []
    day = start.astimezone(tz).date()
    offset = datetime.combine(day, time(0), tzinfo=tz).utcoffset()
    for _ in range(days):
        day += timedelta(days=1)
        now = datetime.combine(day, time(23, 59), tzinfo=tz).utcoffset()
        if now != offset:
            out.append(day)
            offset = now
    return out


# ------------------------------------------------------------------------------------------------ comparison
@dataclass(frozen=True)
class Finding:
    """One difference between the DAG and the node, with its fix; ``kind``: zone, dst, schedule, cycle, dst_dry_run."""

    kind: str
    message: str


@dataclass(frozen=True)
class DagSchedule:
    """What the check knows of the DAG's schedule: its cron (None for other timetables), zone and summary."""

    cron: str | None
    zone: str | None
    summary: str


@dataclass
class Comparison:
    """The outcome for one node: fires looked at, and the findings (none: the DAG matches the node)."""

    fires: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def _wall_time(moment: datetime, zone: str) -> str:
    """``00:30`` (``00:30:15`` with seconds): ``moment``'s wall-clock time in ``zone``."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%H:%M:%S}" if local.second else f"{local:%H:%M}"


def _stamp(moment: datetime, zone: str) -> str:
    """``2026-11-25 00:30:00 +08:00``: ``moment`` in ``zone``, with its UTC offset."""
    local = moment.astimezone(ZoneInfo(zone))
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def _wall_times(moments: Iterable[datetime], zone: str) -> str:
    """``00:30`` or ``00:30, 12:30``: the distinct wall times of ``moments`` in ``zone`` (or how many a day)."""
    seen = sorted({_wall_time(m, zone) for m in moments})
    return ", ".join(seen) if len(seen) <= 3 else f"{len(seen)} times a day"


def _node_times(cron: QuartzCron) -> str:
    """The node's wall times (up to three), else its cron."""
    walls = cron.wall_times()
    if len(walls) <= 3:
        return ", ".join(f"{w:%H:%M:%S}" if w.second else f"{w:%H:%M}" for w in walls)
    return repr(cron.shown)


@dataclass
class _Tally:
    unmatched: list[datetime] = field(default_factory=list)
    skip_cycle: list[datetime] = field(default_factory=list)
    dst_dry: list[tuple[datetime, NodeInstance]] = field(default_factory=list)
    orphans: list[NodeInstance] = field(default_factory=list)
    matched: list[datetime] = field(default_factory=list)


def _tally(segments: Sequence[Sequence[int]], cron: QuartzCron, zone: str) -> _Tally:
    """Match each fire (TriggerTime, ms) with the node's instance at that time, segment by segment."""
    tally = _Tally()
    for segment in segments:
        if not segment:
            continue
        start, end = from_epoch_ms(min(segment)), from_epoch_ms(max(segment))
        instances = node_instances(cron, zone, start, end)
        by_ms = {i.ms: i for i in instances}
        named: set[int] = set()
        for fire in segment:
            moment = from_epoch_ms(fire)
            inst = by_ms.get(kept_occurrence(fire, zone))
            if inst is None:
                tally.unmatched.append(moment)
                continue
            named.add(inst.ms)
            if inst.dry_run == "SkipCycle":
                tally.skip_cycle.append(moment)
            elif inst.dry_run == "DST":
                tally.dst_dry.append((moment, inst))
            else:
                tally.matched.append(moment)
        tally.orphans += [i for i in instances if i.dry_run is None and i.ms not in named]
    return tally


def _dag_text(dag: DagSchedule) -> str:
    return repr(dag.cron) if dag.cron else f"({dag.summary})"


def _fix_schedule(cron: QuartzCron, zone: str) -> str:
    """The fix that ends a finding: the DAG's schedule as the node's cron, in the node's zone."""
    return f"set the DAG's schedule to {cron.shown!r} in {zone} (its start_date's tz, or the timetable's timezone)"


def _zone_finding(
    segments: Sequence[Sequence[int]],
    fires: list[int],
    tally: _Tally,
    node_id: int,
    cron: QuartzCron,
    zone: str,
    dag_zone: str,
) -> Finding | None:
    """``zone``: every run matches once read in the DAG's zone; ``dst``: they match only until the clocks change."""
    all_fires = [from_epoch_ms(f) for f in fires]
    in_dag_zone = _tally(segments, cron, dag_zone) if dag_zone != zone else None
    if in_dag_zone is not None and not in_dag_zone.unmatched and not in_dag_zone.orphans:
        return Finding(
            "zone",
            f"your DAG fires {_wall_times(all_fires, dag_zone)} {dag_zone} = {_wall_times(all_fires, zone)} {zone}; "
            f"node {node_id} runs {_node_times(cron)} {zone}: set the DAG's start_date tz (or its timetable's "
            f"timezone) to {zone}",
        )
    if dag_zone != zone and tally.matched and tally.unmatched:
        first_bad = min(tally.unmatched)
        good = [m for m in tally.matched if m < first_bad] or tally.matched
        return Finding(
            "dst",
            f"your DAG fires {_wall_times(all_fires, dag_zone)} {dag_zone}, which is {_wall_times(good, zone)} {zone} "
            f"only while {zone} keeps one UTC offset: once its clocks change (daylight saving) your runs "
            f"fall at {_wall_times(tally.unmatched, zone)} {zone} (first: {_stamp(first_bad, zone)}) and name no "
            f"instance of node {node_id}, which runs {_node_times(cron)} {zone} all year; "
            f"{len(tally.unmatched)} of the {len(fires)} runs checked fail so: {_fix_schedule(cron, zone)}",
        )
    return None


def _schedule_finding(fires: list[int], tally: _Tally, cron: QuartzCron, zone: str, dag: DagSchedule) -> Finding:
    """``schedule``: runs that name no instance of the node, and instances no run triggers."""
    details = []
    if tally.unmatched:
        first = min(tally.unmatched)
        theirs = [i.at for i in instances_on(cron, first.astimezone(ZoneInfo(zone)).date(), zone)]
        that_day = _wall_times(theirs, zone) if theirs else "none"
        details.append(
            f"{len(tally.unmatched)} of the {len(fires)} runs checked name no instance of the node (first: "
            f"{_stamp(first, zone)}; the node's that day: {that_day}): they fail without retry"
        )
    if tally.orphans:
        details.append(
            f"{len(tally.orphans)} of the node's instances in that time get no trigger from the DAG (first: "
            f"{_stamp(min(i.at for i in tally.orphans), zone)}): they wait in WaitTrigger and hold back their "
            "downstream"
        )
    dag_zone = dag.zone or "UTC"
    zones = f" ({zone})" if dag_zone == zone else f" in {zone}, the DAG's in {dag_zone}"
    return Finding(
        "schedule",
        f"the node runs {cron.shown!r}{zones}, the DAG {_dag_text(dag)}: "
        + "; ".join(details)
        + f": {_fix_schedule(cron, zone)}",
    )


def _cycle_finding(
    fires: list[int], tally: _Tally, node_id: int, cron: QuartzCron, zone: str, dag: DagSchedule
) -> Finding:
    """``cycle``: runs on the days a weekly / monthly node has SkipCycle dry runs."""
    return Finding(
        "cycle",
        f"node {node_id} runs {cron.shown!r} ({cron.cycle or 'not every day'}, {zone}) and your DAG "
        f"{_dag_text(dag)} also on the other days: on those DataWorks generates SkipCycle dry runs, so "
        f"{len(tally.skip_cycle)} of the {len(fires)} runs checked (first: {_stamp(min(tally.skip_cycle), zone)}) "
        f"release nothing (they succeed with a warning): {_fix_schedule(cron, zone)}",
    )


def _dst_dry_run_finding(moment: datetime, inst: NodeInstance, node_id: int, zone: str) -> Finding:
    """``dst_dry_run``: a run on the day a once-a-day node's time is skipped (its instance delayed, a dry run)."""
    wall = inst.at.astimezone(ZoneInfo(zone)) - timedelta(hours=1)
    return Finding(
        "dst_dry_run",
        f"on {wall:%Y-%m-%d} {wall:%H:%M} does not exist in {zone} (daylight saving starts): DataWorks delays "
        f"node {node_id}'s instance to {_stamp(inst.at, zone)} as a dry run, and your DAG's run at "
        f"{_stamp(moment, zone)} releases nothing that day (the dry run releases the node's downstream by "
        "itself): to run that day, schedule the node and the DAG outside the skipped hour",
    )


def compare(
    segments: Sequence[Sequence[int]], node_id: int, cron: QuartzCron, zone: str, dag: DagSchedule
) -> Comparison:
    """Compare the DAG's TriggerTimes (epoch ms; ``segments``: the next runs, then runs around daylight-saving
    changes) with the instances of node ``node_id`` (``cron`` in scheduling ``zone``).

    Runs that name no instance (or instances no run names) give one finding: ``zone``, ``dst`` or ``schedule``;
    otherwise ``cycle`` and ``dst_dry_run`` findings for the runs that land on dry runs.
    """
    fires = sorted({f for s in segments for f in s})
    result = Comparison(fires=len(fires))
    tally = _tally(segments, cron, zone)
    if tally.unmatched or tally.orphans:
        zone_finding = _zone_finding(segments, fires, tally, node_id, cron, zone, dag.zone or "UTC")
        result.findings.append(zone_finding or _schedule_finding(fires, tally, cron, zone, dag))
        return result
    if tally.skip_cycle:
        result.findings.append(_cycle_finding(fires, tally, node_id, cron, zone, dag))
    result.findings += [_dst_dry_run_finding(moment, inst, node_id, zone) for moment, inst in tally.dst_dry]
    return result


def to_json(value: Any) -> Any:
    """Dataclasses of this module as JSON-ready dicts."""
    return asdict(value)
