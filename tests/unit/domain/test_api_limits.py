"""DataWorks' API limits as pure arithmetic (domain/api_limits.py): reads and writes, the editions, and the daily
quota's day (its reset instant, the next one, daylight-saving days, the resume margin), and when a task that met
the quota resumes (mixins/quota_deferral.py). No clock is read: every instant is given.

The same through the emulator's quota and dag.test() are in tests/reliability/test_quota.py and
test_edition_limits.py.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_dataworks.domain.api_limits import (
    BASIC_DAILY_QUOTA,
    DEFAULT_DAILY_QUOTA,
    EDITIONS,
    ENTERPRISE_READ_QPS,
    ENTERPRISE_WRITE_QPS,
    RESUME_MARGIN_S,
    QuotaReset,
    api_kind,
    parse_reset,
)
from airflow_provider_dataworks.exceptions import DataWorksApiError, DataWorksConfigError

UTC = timezone.utc


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ------------------------------------------------------------------------------------------- reads and writes
@pytest.mark.parametrize(
    ("action", "kind"),
    [
        ("GetTaskInstance", "read"),
        ("ListTaskInstances", "read"),
        ("ListDownstreamTaskInstances", "read"),
        ("GetWorkflowInstance", "read"),
        ("DescribeSomething", "read"),
        ("QueryPublicModelEngine", "read"),
        ("CheckProcesses", "read"),
        ("TriggerSchedulerTaskInstance", "write"),
        ("StopTaskInstances", "write"),
        ("StopWorkflowInstances", "write"),
        ("RerunTaskInstances", "write"),
        ("SetSuccessTaskInstances", "write"),
        ("SuspendTaskInstances", "write"),
        ("ResumeTaskInstances", "write"),
        ("CreateTask", "write"),
    ],
)
def test_reads_and_writes_are_limited_apart(action: str, kind: str) -> None:
    assert api_kind(action) == kind


def test_the_editions_limits() -> None:
    assert (ENTERPRISE_READ_QPS, ENTERPRISE_WRITE_QPS, DEFAULT_DAILY_QUOTA, BASIC_DAILY_QUOTA) == (50, 20, None, 100)
    assert EDITIONS["enterprise"] == {"qps": None, "read_qps": 50, "write_qps": 20, "daily": None}
    assert EDITIONS["basic"] == {"qps": 5, "read_qps": None, "write_qps": None, "daily": 100}


# ---------------------------------------------------------------------------------------------- parse_reset
@pytest.mark.parametrize(
    ("text", "reset"),
    [
        (None, QuotaReset(time(0), "Asia/Shanghai")),
        ("", QuotaReset(time(0), "Asia/Shanghai")),
        ("   ", QuotaReset(time(0), "Asia/Shanghai")),
        ("8:00 UTC", QuotaReset(time(8), "UTC")),
        (" 10:15:30   Europe/Berlin ", QuotaReset(time(10, 15, 30), "Europe/Berlin")),
        ("23:59:59 America/Los_Angeles", QuotaReset(time(23, 59, 59), "America/Los_Angeles")),
    ],
)
def test_a_reset_is_a_wall_time_in_an_iana_zone(text: str | None, reset: QuotaReset) -> None:
    assert parse_reset(text) == reset


def test_a_reset_reads_back_as_it_is_written() -> None:
    assert str(parse_reset(None)) == "00:00:00 Asia/Shanghai"
    assert parse_reset(str(parse_reset("7:05 Europe/Berlin"))) == parse_reset("7:05 Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("00:00", "is not 'HH:MM[:SS] Zone'"),
        ("0:0 UTC", "is not 'HH:MM[:SS] Zone'"),
        ("24:00 UTC", "is not a time of day"),
        ("12:00:60 UTC", "is not a time of day"),
        ("12:00 +08:00", "is not an IANA time zone"),
        ("12:00 Asia/Atlantis", "is not an IANA time zone"),
    ],
)
def test_a_bad_reset_names_its_field_and_the_form(text: str, says: str) -> None:
    with pytest.raises(DataWorksConfigError) as raised:
        parse_reset(text, field="reset")
    message = str(raised.value)
    assert message.startswith(f"reset={text!r}") and says in message and "'00:00 Asia/Shanghai'" in message


# ------------------------------------------------------------------------------------------ the quota's day
def test_the_default_day_begins_at_midnight_in_shanghai_and_a_task_resumes_30_s_after() -> None:
    reset = parse_reset(None)
    now = utc(2026, 11, 25, 15, 59, 59)  # 23:59:59 in Shanghai
    assert reset.last_reset(now) == utc(2026, 11, 24, 16)
    assert reset.next_reset(now) == utc(2026, 11, 25, 16) and reset.next_reset(now).tzinfo == ZoneInfo("Asia/Shanghai")
    assert reset.resume_at(now) == utc(2026, 11, 25, 16, 0, 30)
    assert RESUME_MARGIN_S == 30


def test_the_reset_instant_itself_belongs_to_the_new_day() -> None:
    reset = parse_reset("00:00 Asia/Shanghai")
    at = utc(2026, 11, 25, 16)
    assert reset.last_reset(at) == at and reset.next_reset(at) == at + timedelta(days=1)
    assert reset.last_reset(at - timedelta(microseconds=1)) == at - timedelta(days=1)
    assert reset.next_reset(at - timedelta(microseconds=1)) == at


@pytest.mark.parametrize(
    ("text", "before", "wall", "hours"),
    [
        # the clocks skip the reset: it comes as far after the gap as it was into it, and that day is shorter
        ("02:30 Europe/Berlin", utc(2026, 3, 28, 12), "2026-03-29T03:30:00+02:00", 23),
        ("02:30 America/Los_Angeles", utc(2026, 3, 7, 20), "2026-03-08T03:30:00-07:00", 23),
        ("00:30 America/Havana", utc(2026, 3, 7, 12), "2026-03-08T01:30:00-04:00", 23),  # a gap at midnight
        ("02:15 Australia/Lord_Howe", utc(2026, 10, 3, 12), "2026-10-04T02:45:00+11:00", 23.5),  # a 30-min gap
        # the clocks pass the reset twice: it comes at the first pass, and that day is longer
        ("02:30 Europe/Berlin", utc(2026, 10, 24, 12), "2026-10-25T02:30:00+02:00", 25),
        ("01:30 America/Los_Angeles", utc(2026, 10, 31, 20), "2026-11-01T01:30:00-07:00", 25),
        ("00:15 America/Havana", utc(2026, 10, 31, 12), "2026-11-01T00:15:00-04:00", 25),
    ],
)
def test_a_reset_on_a_daylight_saving_day(text: str, before: datetime, wall: str, hours: float) -> None:
    reset = parse_reset(text)
    on_the_day = reset.next_reset(before)
    assert on_the_day.isoformat() == wall
    # the quota day that starts at it is shorter or longer than 24 hours (aware datetimes of one zone subtract as
    # wall times: compare in UTC)
    following = reset.next_reset(on_the_day)
    assert following.astimezone(UTC) - on_the_day.astimezone(UTC) == timedelta(hours=hours)
    assert following.time() == reset.at


def test_the_day_before_a_shifted_reset_is_a_normal_one() -> None:
    reset = parse_reset("02:30 Europe/Berlin")
    spring = reset.next_reset(utc(2026, 3, 28, 12)).astimezone(UTC)
    assert spring - reset.last_reset(spring - timedelta(microseconds=1)) == timedelta(hours=24)


ZONES = [
    "Asia/Shanghai",
    "UTC",
    "Europe/Berlin",
    "America/Los_Angeles",
    "America/Havana",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Kolkata",
]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    zone=st.sampled_from(ZONES),
    at=st.times(),
    now=st.datetimes(datetime(2025, 1, 1), datetime(2028, 12, 31), timezones=st.just(UTC)),
)
def test_every_instant_lies_in_exactly_one_quota_day(zone: str, at: time, now: datetime) -> None:
    reset = QuotaReset(at.replace(microsecond=0), zone)
    last, nxt = reset.last_reset(now), reset.next_reset(now)
    assert last <= now < nxt
    assert reset.next_reset(last) == nxt and reset.last_reset(nxt) == nxt
    assert timedelta(hours=22) <= nxt - last <= timedelta(hours=26)
    assert reset.resume_at(now) == nxt + timedelta(seconds=RESUME_MARGIN_S)


# ------------------------------------------------------------------------------ when a task that met it resumes
def quota_error(sent_at: float | None) -> DataWorksApiError:
    return DataWorksApiError("TriggerSchedulerTaskInstance", "Throttling.Api.Risk", "quota", 429, sent_at=sent_at)


def test_the_refusals_day_is_the_one_the_call_was_sent_in() -> None:
    from airflow_provider_dataworks.triggers.quota_reset import refused_in_quota_day_of

    reset = parse_reset("00:00 Asia/Shanghai")
    sent = utc(2026, 11, 25, 15, 59, 59)
    assert refused_in_quota_day_of(quota_error(sent.timestamp())) == sent
    assert reset.resume_at(refused_in_quota_day_of(quota_error(sent.timestamp()))) == utc(2026, 11, 25, 16, 0, 30)


@pytest.mark.parametrize(
    ("deferrals", "deadline", "waits", "says"),
    [
        (0, None, True, None),
        (2, None, True, None),
        (3, None, False, "still used up after 3 resets"),
        (0, utc(2026, 11, 25, 16, 0, 30).timestamp(), True, None),  # the deadline is the resume instant itself
        (0, utc(2026, 11, 25, 16, 0, 29).timestamp(), False, "after this try's execution_timeout"),
    ],
)
def test_a_task_waits_for_the_reset_unless_it_waited_three_times_or_its_deadline_comes_first(
    deferrals: int, deadline: float | None, waits: bool, says: str | None
) -> None:
    from airflow_provider_dataworks.mixins.quota_deferral import MAX_QUOTA_DEFERRALS, _not_waiting

    resume = utc(2026, 11, 25, 16, 0, 30).astimezone(ZoneInfo("Asia/Shanghai"))
    refusal = _not_waiting(quota_error(None), "the daily quota", resume, deferrals, deadline)
    assert (refusal is None) is waits and MAX_QUOTA_DEFERRALS == 3
    if says:
        assert refusal is not None and says in refusal and "2026-11-26T00:00:30+08:00" in refusal


def test_a_resumed_task_gets_its_state_back_and_nothing_else() -> None:
    from airflow_provider_dataworks.exceptions import DataWorksError
    from airflow_provider_dataworks.mixins.quota_deferral import resumed_state

    event = {"status": "quota_reset", "resumed_at": 1.0, "quota_deferrals": 1, "instance_id": 5}
    assert resumed_state(event) == {"quota_deferrals": 1, "instance_id": 5}
    for wrong in ({"status": "success", "quota_deferrals": 1}, {"status": "quota_reset"}, None):
        with pytest.raises(DataWorksError, match="unexpected event"):
            resumed_state(wrong)
