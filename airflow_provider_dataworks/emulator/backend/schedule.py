"""Which instances a scheduled DataWorks node gets on one day (pure time arithmetic, no I/O).

A node's cron is read as wall-clock time in the workspace's scheduling zone. Daylight-saving rules
(shared docs §1), as DataWorks applies them:

- a wall time that does not exist (spring forward) is skipped when the node runs several times a day,
  so an hourly node gets 23 instances; a node that runs once a day is delayed one hour and its
  instance becomes a dry run;
- a wall time that occurs twice (fall back) is kept once, at its second occurrence, so an hourly node
  keeps 24 instances.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # 0 = Sunday, as 5-field cron counts
_NAMES = {name: number for number, name in enumerate(_MONTHS, 1)} | {name: n for n, name in enumerate(_WEEKDAYS)}


@dataclass(frozen=True)
class CronSchedule:
    """A parsed cron expression; ``days_of_week`` uses 0 = Sunday. None means "any"."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None
    months: frozenset[int]
    days_of_week: frozenset[int] | None

    def runs_on(self, day: date) -> bool:
        """Whether the schedule fires at all on ``day`` (standard cron: DOM and DOW both restrict)."""
        if day.month not in self.months:
            return False
        if self.days_of_month is not None and day.day not in self.days_of_month:
            return False
        cron_weekday = (day.weekday() + 1) % 7
        return self.days_of_week is None or cron_weekday in self.days_of_week

    def wall_times(self) -> list[time]:
        """Every wall-clock time of a day the schedule fires at, sorted."""
        return [time(h, m) for h in sorted(self.hours) for m in sorted(self.minutes)]


def _field(text: str, low: int, high: int, name: str, expression: str, offset: int = 0) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"cron {expression!r}: bad step in the {name} field")
            step = int(step_text)
        if part in ("*", "?"):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _number(a, name, expression) - offset, _number(b, name, expression) - offset
        else:
            start = _number(part, name, expression) - offset
            end = high if step > 1 else start
        if not (low <= start <= high and low <= end <= high and start <= end):
            raise ValueError(f"cron {expression!r}: the {name} field is out of range {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _number(text: str, name: str, expression: str) -> int:
    upper = text.upper()
    if upper in _NAMES:
        return _NAMES[upper]
    if not text.isdigit():
        raise ValueError(f"cron {expression!r}: {text!r} is not a number in the {name} field")
    return int(text)


def parse_cron(expression: str) -> CronSchedule:
    """Parse a 5-field cron (``m h dom mon dow``) or a DataWorks/Quartz one (``s m h dom mon dow [year]``).

    Quartz day-of-week counts 1 = Sunday; it is converted to 0 = Sunday.
    """
    fields = expression.split()
    quartz = len(fields) in (6, 7)
    if quartz:
        fields = fields[1:6]
    if len(fields) != 5:
        raise ValueError(f"cron {expression!r}: expected 5 fields (m h dom mon dow) or 6-7 (Quartz)")
    minute, hour, dom, month, dow = fields
    dows = None
    if dow not in ("*", "?"):
        dows = frozenset(d % 7 for d in _field(dow, 0, 7, "day-of-week", expression, 1 if quartz else 0))
    return CronSchedule(
        expression=expression,
        minutes=_field(minute, 0, 59, "minute", expression),
        hours=_field(hour, 0, 23, "hour", expression),
        days_of_month=None if dom in ("*", "?") else _field(dom, 1, 31, "day-of-month", expression),
        months=_field(month, 1, 12, "month", expression),
        days_of_week=dows,
    )


@dataclass(frozen=True)
class ScheduledRun:
    """One instance a node gets: its scheduled instant (UTC), whether DST made it a dry run, and whether the day is
    outside the node's cycle (a weekly / monthly node's other days: a ``SkipCycle`` dry run)."""

    scheduled_at: datetime
    dry_run: bool = False
    off_cycle: bool = False


def _resolve(day: date, wall: time, zone: ZoneInfo) -> datetime | None:
    """The instant of ``wall`` on ``day`` in ``zone``: second occurrence if repeated, None if skipped."""
    local = datetime.combine(day, wall, tzinfo=zone).replace(fold=1)
    instant = local.astimezone(timezone.utc)
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None, fold=0):
        return None
    return instant


def runs_on_day(schedule: CronSchedule, day: date, zone_name: str) -> list[ScheduledRun]:
    """The instances a node with ``schedule`` gets on ``day`` (a scheduled date in ``zone_name``)."""
    if not schedule.runs_on(day):
        return []
    return _wall_runs(schedule, day, zone_name)


def daily_runs(schedule: CronSchedule, day: date, zone_name: str) -> list[ScheduledRun]:
    """What DataWorks generates for the node on ``day``: its runs, or on a day outside a weekly / monthly / yearly
    cycle the same wall times as dry runs (``off_cycle``), so the node has an instance every day."""
    if schedule.runs_on(day):
        return _wall_runs(schedule, day, zone_name)
    return [ScheduledRun(r.scheduled_at, r.dry_run, off_cycle=True) for r in _wall_runs(schedule, day, zone_name)]


def _wall_runs(schedule: CronSchedule, day: date, zone_name: str) -> list[ScheduledRun]:
    zone = ZoneInfo(zone_name)
    walls = schedule.wall_times()
    runs: list[ScheduledRun] = []
    for wall in walls:
        instant = _resolve(day, wall, zone)
        if instant is not None:
            runs.append(ScheduledRun(instant))
        elif len(walls) == 1:
            shifted = (datetime.combine(day, wall) + timedelta(hours=1)).time()
            delayed = _resolve(day, shifted, zone)
            if delayed is not None:
                runs.append(ScheduledRun(delayed, dry_run=True))
    return runs


def quartz(expression: str) -> str:
    """A cron as DataWorks shows it (``GetTask``'s ``Trigger.Cron``): 6-field Quartz ``ss mm HH dom mon dow``, e.g.
    ``00 30 00 * * ?``. A Quartz expression is returned as it is; a 5-field one gets seconds ``00``, two-digit plain
    minute and hour, ``?`` for the unrestricted one of day-of-month / day-of-week, and Quartz day numbers (1 = Sunday).
    """
    fields = expression.split()
    if len(fields) != 5:
        return expression
    minute, hour, dom, month, dow = (f.zfill(2) if f.isdigit() and i < 2 else f for i, f in enumerate(fields))
    if dow in ("*", "?"):
        dow = "?"
    else:
        dow = re.sub(r"\d+", lambda m: str(int(m.group()) % 7 + 1), dow)
        dom = "?" if dom in ("*", "?") else dom
    return " ".join(("00", minute, hour, dom, month, dow))


def bizdate_of(scheduled_day: date, zone_name: str) -> datetime:
    """The business date of instances scheduled on ``scheduled_day``: 00:00 of the day before, in the zone."""
    return datetime.combine(scheduled_day - timedelta(days=1), time(0), tzinfo=ZoneInfo(zone_name))
