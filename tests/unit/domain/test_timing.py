"""Pure time arithmetic: TriggerTime, business dates, formats, daylight saving."""

from __future__ import annotations

from datetime import date, datetime, timezone
from types import SimpleNamespace

import pendulum
import pytest

from airflow_provider_dataworks.domain.timing import (
    TriggerTimeError,
    bizdate_ms,
    format_in_zone,
    kept_occurrence,
    parse_trigger_time,
    run_moment,
    to_epoch_ms,
)
from airflow_provider_dataworks.emulator.backend.schedule import parse_cron, runs_on_day

pytestmark = pytest.mark.every_airflow

SH = "Asia/Shanghai"
T0030 = 1795537800000  # 2026-11-25 00:30 +08:00


def test_doc_example_bizdate_is_midnight_of_previous_day_in_zone() -> None:
    # the API reference's example: 1743350400000 = 2025-03-31 00:00 +08:00, for instances of 2025-04-01
    trigger = parse_trigger_time("2025-04-01 00:30:00", SH)
    assert bizdate_ms(trigger, SH) == 1743350400000


@pytest.mark.parametrize(
    "value",
    [
        T0030,
        str(T0030),
        "2026-11-25T00:30:00+08:00",
        "2026-11-24T16:30:00Z",
        "2026-11-25 00:30:00",
        datetime(2026, 11, 24, 16, 30, tzinfo=timezone.utc),
        pendulum.datetime(2026, 11, 25, 0, 30, tz=SH),
    ],
)
def test_every_accepted_form_names_the_same_instant(value: object) -> None:
    assert parse_trigger_time(value, SH) == T0030


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (datetime(2026, 11, 25, 0, 30), "naive"),
        (1795537800, "epoch seconds"),
        (12, "between 2000 and 2100"),
        ("2026-11-25T00:30:00", "no UTC offset"),
        ("yesterday", "not a time"),
        ("", "empty"),
        (1.5e12, "float"),
        (True, "not a time"),
        (date(2026, 11, 25), "is a date"),
    ],
)
def test_malformed_trigger_times_name_the_field_and_the_fix(value: object, fragment: str) -> None:
    with pytest.raises(TriggerTimeError, match="trigger_time") as err:
        parse_trigger_time(value, SH)
    assert fragment in str(err.value)


def test_console_format_is_read_in_the_scheduling_zone_not_utc() -> None:
    berlin = parse_trigger_time("2026-07-01 00:30:00", "Europe/Berlin")
    assert format_in_zone(berlin, "Europe/Berlin") == "2026-07-01 00:30:00 +02:00"
    assert berlin != parse_trigger_time("2026-07-01 00:30:00", SH)


def test_skipped_hour_is_an_error_and_repeated_hour_reads_as_second_occurrence() -> None:
    with pytest.raises(TriggerTimeError, match="does not exist in Europe/Berlin"):
        parse_trigger_time("2026-03-29 02:30:00", "Europe/Berlin")
    repeated = parse_trigger_time("2026-10-25 02:30:00", "Europe/Berlin")
    assert format_in_zone(repeated, "Europe/Berlin") == "2026-10-25 02:30:00 +01:00"  # the second 02:30 (CET)


def test_first_pass_of_a_repeated_hour_maps_to_the_kept_second_pass() -> None:
    first = to_epoch_ms(pendulum.datetime(2026, 10, 25, 0, 0, tz="UTC"))  # 02:00 +02:00 in Berlin
    assert format_in_zone(first, "Europe/Berlin") == "2026-10-25 02:00:00 +02:00"
    assert format_in_zone(kept_occurrence(first, "Europe/Berlin"), "Europe/Berlin") == "2026-10-25 02:00:00 +01:00"
    assert kept_occurrence(first + 3_600_000, "Europe/Berlin") == first + 3_600_000  # the second pass itself
    assert kept_occurrence(T0030, SH) == T0030


def test_bizdate_follows_the_zone_across_dst() -> None:
    # 00:30 on the spring-forward day in Berlin: bizdate is 2026-03-28 00:00 +01:00
    trigger = parse_trigger_time("2026-03-29 00:30:00", "Europe/Berlin")
    assert bizdate_ms(trigger, "Europe/Berlin") == to_epoch_ms(pendulum.datetime(2026, 3, 28, tz="Europe/Berlin"))
    # 23:30 in Los Angeles is already the next day in UTC: bizdate comes from the local date
    la = parse_trigger_time("2026-11-01 23:30:00", "America/Los_Angeles")
    assert bizdate_ms(la, "America/Los_Angeles") == to_epoch_ms(
        pendulum.datetime(2026, 10, 31, tz="America/Los_Angeles")
    )


def test_a_manual_run_stands_for_the_logical_date_chosen_not_the_interval_inferred_from_now() -> None:
    chosen = pendulum.datetime(2026, 11, 14, 16, 30, tz="UTC")
    triggered_at = pendulum.datetime(2026, 11, 25, 10, 43, tz="UTC")  # Airflow 3's manual data interval
    context = {"dag_run": SimpleNamespace(run_type="manual"), "logical_date": chosen,
               "data_interval_start": triggered_at, "data_interval_end": triggered_at}  # fmt: skip
    assert run_moment(context) == (chosen, "logical_date")
    scheduled = {**context, "dag_run": SimpleNamespace(run_type="scheduled")}
    assert run_moment(scheduled) == (triggered_at, "data_interval_end")
    with pytest.raises(TriggerTimeError, match="no logical date"):
        run_moment({**context, "logical_date": None})


def test_run_moment_prefers_data_interval_end_and_never_falls_back_to_now() -> None:
    end = pendulum.datetime(2026, 11, 24, 16, 30, tz="UTC")
    start = end.subtract(days=1)
    assert run_moment({"data_interval_end": end, "logical_date": start}) == (end, "data_interval_end")
    assert run_moment({"logical_date": start}) == (start, "logical_date")
    with pytest.raises(TriggerTimeError, match=r"no logical date.*Pass trigger_time"):
        run_moment({"dag_run": object()})


@pytest.mark.parametrize(("zone", "day", "count"), [
    ("Europe/Berlin", date(2026, 3, 29), 23),
    ("Europe/Berlin", date(2026, 10, 25), 24),
    ("America/Los_Angeles", date(2026, 3, 8), 23),
    ("America/Los_Angeles", date(2026, 11, 1), 24),
    ("Asia/Shanghai", date(2026, 3, 29), 24),
])  # fmt: skip
def test_hourly_node_instances_on_dst_days(zone: str, day: date, count: int) -> None:
    runs = runs_on_day(parse_cron("0 * * * *"), day, zone)
    assert len(runs) == count
    assert len({r.scheduled_at for r in runs}) == count
    assert not any(r.dry_run for r in runs)


def test_daily_node_in_the_skipped_hour_is_delayed_one_hour_and_dry_run() -> None:
    (run,) = runs_on_day(parse_cron("00 30 02 * * ?"), date(2026, 3, 29), "Europe/Berlin")
    assert run.dry_run
    assert format_in_zone(to_epoch_ms(run.scheduled_at), "Europe/Berlin") == "2026-03-29 03:30:00 +02:00"


def test_cron_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="hour field"):
        parse_cron("0 25 * * *")
    with pytest.raises(ValueError, match="expected 5 fields"):
        parse_cron("0 0 *")
