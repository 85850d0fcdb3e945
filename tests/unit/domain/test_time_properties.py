"""Time mapping, property-tested: Airflow's runs name exactly the instances DataWorks generates (pure, no server).

For every region zone of the shared docs, random days (daylight-saving transition days drawn often),
daily / hourly / every-N-minute node schedules and both cron timetables, Airflow's own timetable produces
the runs; the provider maps each run to a TriggerTime; the emulator's DataWorks rules (its schedule module, no
server) produce the node's instances (a skipped daily time delayed one hour as a dry run; a repeated wall time
kept at its second pass).

- ``test_every_run_names_an_instance_and_every_instance_a_run``: the set of TriggerTimes of one day's runs equals
  the set of that day's instance times, and each run's wall time in the zone is its cron time (never an hour off).

The same cases through ``DataWorksTriggerOperator.execute()``, the official SDK and the emulator are in
tests/integration/test_time_properties.py, which imports the helpers here.

Hypothesis runs derandomized (the same examples on every CI run); ``HYPOTHESIS_SEED=<n>`` explores others. The unit
tier runs :data:`UNIT_EXAMPLES` examples (the ``dataworks-unit-time`` settings profile: 300 took ~10 s on a 2-core
machine); ``TIME_PROPERTY_EXAMPLES=<n>`` runs more.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pendulum
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from airflow_provider_dataworks.domain.regions import REGION_TIMEZONES
from airflow_provider_dataworks.domain.timing import in_zone, kept_occurrence, run_moment, to_epoch_ms
from airflow_provider_dataworks.emulator.backend.schedule import parse_cron, runs_on_day

#: One region per scheduling zone of the shared docs (§1).
REGION_OF_ZONE = {zone: region for region, zone in reversed(REGION_TIMEZONES.items())}
ZONES = sorted(REGION_OF_ZONE)
TIMETABLES = ("CronTriggerTimetable", "CronDataIntervalTimetable")
STEPS = (5, 10, 15, 20, 30)  # every N minutes (DataWorks' minimum is 5)


def _transition_days() -> list[tuple[str, date]]:
    """(zone, local date) of every UTC-offset change of the DST zones, 2025-2028."""
    days = []
    for zone in ZONES:
        tz = ZoneInfo(zone)
        moment = datetime(2025, 1, 1, tzinfo=ZoneInfo("UTC"))
        while moment.year < 2029:
            later = moment + timedelta(hours=1)
            if moment.astimezone(tz).utcoffset() != later.astimezone(tz).utcoffset():
                days.append((zone, later.astimezone(tz).date()))
            moment = later
    return days


TRANSITION_DAYS = _transition_days()
HYPOTHESIS_SEED = os.environ.get("HYPOTHESIS_SEED")
explore = seed(int(HYPOTHESIS_SEED)) if HYPOTHESIS_SEED else (lambda test: test)


@dataclass(frozen=True)
class Case:
    zone: str
    day: date
    cron: str
    timetable: str

    def __str__(self) -> str:
        return f"{self.cron!r} in {self.zone} on {self.day} ({self.timetable})"


@st.composite
def cases(draw: st.DrawFn) -> Case:
    if draw(st.booleans()):
        zone, day = draw(st.sampled_from(TRANSITION_DAYS))
    else:
        zone = draw(st.sampled_from(ZONES))
        day = draw(st.dates(date(2025, 1, 1), date(2028, 12, 31)))
    kind = draw(st.sampled_from(("daily", "hourly", "minutes")))
    minute = draw(st.integers(0, 59))
    if kind == "daily":
        # Hours around the 01:00-03:00 transitions are drawn as often as all the others together.
        hour = draw(st.one_of(st.integers(0, 23), st.integers(0, 3)))
        cron = f"{minute} {hour} * * *"
    elif kind == "hourly":
        cron = f"{minute} * * * *"
    else:
        cron = f"*/{draw(st.sampled_from(STEPS))} * * * *"
    return Case(zone, day, cron, draw(st.sampled_from(TIMETABLES)))


def airflow_runs(case: Case) -> list[dict[str, Any]]:
    """The runs Airflow's timetable makes whose data interval ends on ``case.day`` (zone time): their contexts."""
    from airflow.timetables.base import TimeRestriction
    from airflow.timetables.interval import CronDataIntervalTimetable
    from airflow.timetables.trigger import CronTriggerTimetable

    cls = CronTriggerTimetable if case.timetable == "CronTriggerTimetable" else CronDataIntervalTimetable
    timetable = cls(case.cron, timezone=case.zone)
    start = pendulum.datetime(case.day.year, case.day.month, case.day.day, tz=case.zone)
    end = start.add(days=1)
    restriction = TimeRestriction(earliest=start.subtract(days=1), latest=end, catchup=True)
    runs, last = [], None
    while (info := timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)) is not None:
        last = info.data_interval
        if start <= info.data_interval.end < end:
            runs.append(
                {
                    "logical_date": info.logical_date,
                    "data_interval_start": info.data_interval.start,
                    "data_interval_end": info.data_interval.end,
                    "dag_run": SimpleNamespace(run_type="scheduled"),
                }
            )
    return runs


def trigger_time_of(context: dict[str, Any], zone: str) -> int:
    """What the operator sends for a run: its moment in epoch ms, at the kept pass of a repeated wall time."""
    moment, _ = run_moment(context)
    return kept_occurrence(to_epoch_ms(moment), zone)


def instance_times(case: Case) -> dict[int, bool]:
    """TriggerTime (epoch ms) -> dry run, of the instances DataWorks generates for the node on ``case.day``."""
    return {to_epoch_ms(r.scheduled_at): r.dry_run for r in runs_on_day(parse_cron(case.cron), case.day, case.zone)}


#: Examples of the pure property in the unit tier (``make check`` stays fast); the slow tiers draw their own.
UNIT_EXAMPLES = int(os.environ.get("TIME_PROPERTY_EXAMPLES", "100"))
settings.register_profile(
    "dataworks-unit-time",
    max_examples=UNIT_EXAMPLES,
    deadline=None,
    derandomize=HYPOTHESIS_SEED is None,
    database=None,
)


@settings(settings.get_profile("dataworks-unit-time"))
@explore
@given(case=cases())
def test_every_run_names_an_instance_and_every_instance_a_run(case: Case) -> None:
    runs = airflow_runs(case)
    instances = instance_times(case)
    sent = {trigger_time_of(run, case.zone) for run in runs}
    assert sent == set(instances), (
        f"{case}: runs name {sorted(fmt(ms, case.zone) for ms in sent)}, DataWorks has "
        f"{sorted(fmt(ms, case.zone) for ms in instances)}"
    )
    schedule = parse_cron(case.cron)
    for run in runs:
        ms = trigger_time_of(run, case.zone)
        wall = in_zone(ms, case.zone)
        if instances[ms]:  # the dry run of a daily time the clocks skipped: one hour later, as DataWorks does
            wall -= timedelta(hours=1)
        assert wall.hour in schedule.hours and wall.minute in schedule.minutes, f"{case}: {fmt(ms, case.zone)}"
        assert wall.date() == case.day, f"{case}: {fmt(ms, case.zone)} is not on the scheduled day"


def fmt(ms: int, zone: str) -> str:
    return in_zone(ms, zone).isoformat()
