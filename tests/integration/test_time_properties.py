"""Time mapping, property-tested: Airflow's runs name exactly the instances DataWorks generates.

For every region zone of the shared docs, random days (daylight-saving transition days drawn often),
daily / hourly / every-N-minute node schedules and both cron timetables, Airflow's own timetable produces
the runs; the provider maps each run to a TriggerTime; the emulator's DataWorks rules produce the node's
instances (a skipped daily time delayed one hour as a dry run; a repeated wall time kept at its second pass).

- ``test_every_run_names_an_instance_and_every_instance_a_run``: pure (no server), many examples: the set
  of TriggerTimes of one day's runs equals the set of that day's instance times, and each run's wall time
  in the zone is its cron time (never an hour off).
- ``test_the_operator_triggers_the_instance_its_run_stands_for``: fewer examples through
  ``DataWorksTriggerOperator.execute()``, the official SDK and the emulator: the TriggerTime on the wire is
  the generated instance's scheduled time, and that instance (only) is released.

Hypothesis runs derandomized (the same examples on every CI run); ``HYPOTHESIS_SEED=<n>`` explores others.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pendulum
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from airflow_provider_dataworks.domain.regions import REGION_TIMEZONES
from airflow_provider_dataworks.domain.timing import in_zone, kept_occurrence, run_moment, to_epoch_ms
from airflow_provider_dataworks.emulator import DataWorksEmulator
from airflow_provider_dataworks.emulator.backend.schedule import parse_cron, runs_on_day
from tests.conftest import connection_json

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
_HYPOTHESIS_SEED = os.environ.get("HYPOTHESIS_SEED")
explore = seed(int(_HYPOTHESIS_SEED)) if _HYPOTHESIS_SEED else (lambda test: test)


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


@settings(max_examples=300, deadline=None, derandomize=_HYPOTHESIS_SEED is None, database=None)
@explore
@given(case=cases())
def test_every_run_names_an_instance_and_every_instance_a_run(case: Case) -> None:
    runs = airflow_runs(case)
    instances = instance_times(case)
    sent = {trigger_time_of(run, case.zone) for run in runs}
    assert sent == set(instances), (
        f"{case}: runs name {sorted(_fmt(ms, case.zone) for ms in sent)}, DataWorks has "
        f"{sorted(_fmt(ms, case.zone) for ms in instances)}"
    )
    schedule = parse_cron(case.cron)
    for run in runs:
        ms = trigger_time_of(run, case.zone)
        wall = in_zone(ms, case.zone)
        if instances[ms]:  # the dry run of a daily time the clocks skipped: one hour later, as DataWorks does
            wall -= timedelta(hours=1)
        assert wall.hour in schedule.hours and wall.minute in schedule.minutes, f"{case}: {_fmt(ms, case.zone)}"
        assert wall.date() == case.day, f"{case}: {_fmt(ms, case.zone)} is not on the scheduled day"


def _fmt(ms: int, zone: str) -> str:
    return in_zone(ms, zone).isoformat()


# ---------------------------------------------------------------------------------- through the operator
RELEASE = 700001


@pytest.fixture(scope="module")
def emulator() -> Iterator[DataWorksEmulator]:
    with DataWorksEmulator() as emu:
        yield emu


class _TI:
    """The task instance's XCom, in memory (one try, no retries here)."""

    stats_tags: dict[str, str] = {}

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value

    def xcom_pull(self, task_ids: Any = None, key: str | None = None) -> Any:
        return self.xcom.get(key)


class _StateStore(dict):  # type: ignore[type-arg]
    def set(self, key: str, value: Any) -> None:
        self[key] = value


@settings(
    max_examples=150, deadline=None, derandomize=_HYPOTHESIS_SEED is None, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)  # fmt: skip
@explore
@given(case=cases(), pick=st.randoms(use_true_random=False))
def test_the_operator_triggers_the_instance_its_run_stands_for(
    case: Case, pick: Any, emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator
    from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_3_PLUS

    runs = airflow_runs(case)
    if not runs:  # a daily time that does not come on this day in Airflow's view; the pure test covers it
        return
    context = dict(pick.choice(runs))
    moment, _ = run_moment(context)
    region = REGION_OF_ZONE[case.zone]
    emulator.reset()
    ws = emulator.add_workspace(1001, region)
    emulator.add_task(ws, RELEASE, "release", http_trigger=True, cron=case.cron)
    emulator.clock.freeze(moment + timedelta(minutes=1))
    monkeypatch.setenv(
        "AIRFLOW_CONN_DATAWORKS_DEFAULT", connection_json(emulator, region_id=region, project_id=1001, qps=1000)
    )
    context["ti"] = _TI()
    if AIRFLOW_V_3_3_PLUS:
        context["task_state_store"] = _StateStore()

    DataWorksTriggerOperator(task_id="release", dataworks_task_id=RELEASE).execute(context)

    expected = trigger_time_of(context, case.zone)
    instances = instance_times(case)
    assert expected in instances, f"{case}: {_fmt(expected, case.zone)} is not an instance DataWorks generated"
    calls = emulator.calls_of("TriggerSchedulerTaskInstance")
    if instances[expected]:  # a dry run: DataWorks releases it by itself, the operator does not trigger
        assert calls == [], f"{case}: triggered a dry-run instance"
        return
    assert [int(c.params["TriggerTime"]) for c in calls] == [expected], f"{case}: sent {calls}"
    # The first pass of a repeated hour triggers the instance of the second pass, an hour ahead: DataWorks
    # keeps the trigger until then.
    emulator.clock.advance(timedelta(hours=2))
    released = [i for i in emulator.instances_of(RELEASE) if i.releases]
    assert [to_epoch_ms(i.trigger_time) for i in released] == [expected], f"{case}: released {released}"
