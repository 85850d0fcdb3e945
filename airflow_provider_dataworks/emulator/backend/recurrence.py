"""How a scheduled instance runs when its turn comes (its ``TriggerRecurrence``): pure rules, no state.

A node's own recurrence (``Skip``, ``Pause``, ...) wins; else a DST-delayed daily run is a ``Skip`` dry run; a day
outside a weekly / monthly node's cycle a ``SkipCycle`` dry run; a day its scheduling calendar pauses
``PauseCalendar`` and one it skips ``SkipCalendar``; else ``Normal``. Calendar days are scheduled dates (the date
of the instance's TriggerTime in the workspace zone), not business dates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from airflow_provider_dataworks.emulator.backend.schedule import ScheduledRun
from airflow_provider_dataworks.emulator.backend.vocab import TriggerRecurrence as R

_CALENDAR_KEYS = {"skip", "pause"}


def _days(values: Iterable[date | str], what: str) -> frozenset[date]:
    days = set()
    for value in values:
        if isinstance(value, str):
            value = date.fromisoformat(value)
        if not isinstance(value, date):
            raise ValueError(f"calendar {what}: {value!r} is not a date (YYYY-MM-DD)")
        days.add(value)
    return frozenset(days)


@dataclass(frozen=True)
class SchedulingCalendar:
    """A task's scheduling calendar: scheduled dates on which its instances are dry runs or paused."""

    skip: frozenset[date] = frozenset()
    pause: frozenset[date] = frozenset()

    @classmethod
    def of(cls, spec: SchedulingCalendar | Mapping[str, Iterable[date | str]] | None) -> SchedulingCalendar:
        """From ``{"skip": [dates], "pause": [dates]}`` (dates or ``YYYY-MM-DD`` text); None is an empty calendar."""
        if spec is None:
            return cls()
        if isinstance(spec, SchedulingCalendar):
            return spec
        if not isinstance(spec, Mapping) or set(spec) - _CALENDAR_KEYS:
            raise ValueError(f"calendar: a mapping of {sorted(_CALENDAR_KEYS)} to lists of dates, not {spec!r}")
        calendar = cls(_days(spec.get("skip", ()), "skip"), _days(spec.get("pause", ()), "pause"))
        if calendar.skip & calendar.pause:
            raise ValueError(f"calendar: {sorted(calendar.skip & calendar.pause)} both skipped and paused")
        return calendar


def scheduled_recurrence(task_recurrence: R, run: ScheduledRun, day: date, calendar: SchedulingCalendar) -> R:
    """The ``TriggerRecurrence`` of a scheduled (``Normal`` workflow) instance of scheduled date ``day``."""
    if task_recurrence != R.NORMAL:
        return task_recurrence
    if run.dry_run:
        return R.SKIP
    if run.off_cycle:
        return R.SKIP_CYCLE
    if day in calendar.pause:
        return R.PAUSE_CALENDAR
    if day in calendar.skip:
        return R.SKIP_CALENDAR
    return R.NORMAL
