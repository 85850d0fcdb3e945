"""The daily quota: its day and reset (quota.py, DST days too), the emulator's count, the connection extras, and a
task that meets the quota deferring to the reset through dag.test() instead of failing."""

from __future__ import annotations

import asyncio
import time as time_module
from datetime import datetime, time, timedelta, timezone

import pytest

from airflow_provider_dataworks.domain.api_limits import RESUME_MARGIN_S, QuotaReset, parse_reset
from airflow_provider_dataworks.emulator import DataWorksEmulator
from airflow_provider_dataworks.exceptions import DataWorksApiError, DataWorksConfigError
from airflow_provider_dataworks.hooks.connection import parse_connection
from airflow_provider_dataworks.triggers.quota_reset import refused_in_quota_day_of
from tests.conftest import RELEASE, RUN_DATE, T, connection_json, dag_source, run_dag, task_states

UTC = timezone.utc


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ------------------------------------------------------------------------------------------ quota.py
def test_default_reset_is_midnight_in_shanghai() -> None:
    reset = parse_reset(None)
    assert reset == QuotaReset(time(0), "Asia/Shanghai")
    now = utc(2026, 12, 2, 10, 0)  # 18:00 in Shanghai
    assert reset.last_reset(now) == utc(2026, 12, 1, 16, 0)
    assert reset.next_reset(now).isoformat() == "2026-12-03T00:00:00+08:00"
    assert reset.resume_at(now).isoformat() == f"2026-12-03T00:00:{RESUME_MARGIN_S:02d}+08:00"


def test_reset_exactly_at_the_moment_starts_a_new_day() -> None:
    reset = parse_reset("10:15:30 UTC")
    at = utc(2026, 12, 2, 10, 15, 30)
    assert reset.last_reset(at) == at
    assert reset.last_reset(at - timedelta(microseconds=1)) == at - timedelta(days=1)
    assert reset.next_reset(at) == at + timedelta(days=1)


def test_reset_in_a_spring_forward_gap_happens_after_the_gap() -> None:
    reset = parse_reset("02:30 Europe/Berlin")  # 2026-03-29: 02:00 CET -> 03:00 CEST
    before = utc(2026, 3, 28, 12, 0)
    assert reset.next_reset(before).isoformat() == "2026-03-29T03:30:00+02:00"
    assert reset.next_reset(utc(2026, 3, 29, 2, 0)).isoformat() == "2026-03-30T02:30:00+02:00"
    # the quota day that starts at the shifted reset lasts 23 hours (03:30 CEST to 02:30 CEST)
    assert reset.last_reset(utc(2026, 3, 30, 12, 0)) - reset.last_reset(utc(2026, 3, 29, 12, 0)) == timedelta(hours=23)


def test_reset_in_a_repeated_hour_happens_at_its_first_pass() -> None:
    reset = parse_reset("02:30 Europe/Berlin")  # 2026-10-25: 03:00 CEST -> 02:00 CET
    nxt = reset.next_reset(utc(2026, 10, 24, 12, 0))
    assert nxt.isoformat() == "2026-10-25T02:30:00+02:00"
    after = reset.next_reset(nxt.astimezone(UTC))
    assert after.isoformat() == "2026-10-26T02:30:00+01:00" and after.astimezone(UTC) - nxt.astimezone(
        UTC
    ) == timedelta(hours=25)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("00:00", "'HH:MM[:SS] Zone'"),
        ("24:00 UTC", "not a time of day"),
        ("12:61 UTC", "not a time of day"),
        ("00:00 Mars/Base", "'Mars/Base' is not an IANA time zone"),
        ("midnight Asia/Shanghai", "'HH:MM[:SS] Zone'"),
    ],
)
def test_bad_reset_names_the_field_and_the_form(text: str, says: str) -> None:
    with pytest.raises(DataWorksConfigError) as err:
        parse_connection("dw", "id", "secret", {"region_id": "cn-hangzhou", "daily_quota_reset": text})
    assert "extra 'daily_quota_reset'" in str(err.value) and says in str(err.value)
    assert "00:00 Asia/Shanghai" in str(err.value)


def test_connection_quota_extras() -> None:
    default = parse_connection("dw", "id", "secret", {"region_id": "cn-hangzhou"})
    # Enterprise, the edition HTTP trigger nodes need: no daily cap, 50 read / 20 write QPS per account and region
    assert (default.daily_quota, str(default.daily_quota_reset)) == (None, "00:00:00 Asia/Shanghai")
    assert (default.read_qps, default.write_qps, default.qps, default.throttling_budget_s) == (50, 20, 2, 300)
    basic = parse_connection("dw", "id", "secret", {"region_id": "cn-hangzhou", "daily_quota": 100, "read_qps": "5",
                                                   "write_qps": 5, "throttling_budget_s": "60"})  # fmt: skip
    assert (basic.daily_quota, basic.read_qps, basic.write_qps, basic.throttling_budget_s) == (100, 5, 5, 60)
    for extra in ("read_qps", "write_qps", "throttling_budget_s", "qps"):
        for bad in ("0", "-1", "fast", "inf"):
            with pytest.raises(DataWorksConfigError, match=f"extra '{extra}'='{bad}' must be a number"):
                parse_connection("dw", "id", "secret", {"region_id": "cn-hangzhou", extra: bad})
    given = parse_connection(
        "dw", "id", "secret", {"region_id": "cn-hangzhou", "daily_quota": "1000", "daily_quota_reset": "8:00 UTC"}
    )
    assert (given.daily_quota, given.daily_quota_reset) == (1000, QuotaReset(time(8), "UTC"))
    for bad, says in (("0", "at least 1"), ("lots", "whole number")):
        with pytest.raises(DataWorksConfigError, match=f"extra 'daily_quota'='{bad}' must be .*{says}"):
            parse_connection("dw", "id", "secret", {"region_id": "cn-hangzhou", "daily_quota": bad})


def test_a_refusal_answered_before_the_reset_and_handled_after_it_waits_for_this_reset() -> None:
    """The quota day is the one the refused call was sent in: a loaded worker that reaches the deferral after the
    reset must not wait a whole day for the next one (what a CI run's backfill did, before ``sent_at``)."""
    reset = parse_reset("10:15:30 UTC")
    at = utc(2026, 12, 2, 10, 15, 30)
    err = DataWorksApiError("ListTaskInstances", "Throttling.Api.Risk", "quota", 429, sent_at=(at.timestamp() - 1))
    assert reset.resume_at(refused_in_quota_day_of(err)) == at + timedelta(seconds=RESUME_MARGIN_S)
    late = DataWorksApiError("ListTaskInstances", "Throttling.Api.Risk", "quota", 429, sent_at=at.timestamp())
    assert reset.resume_at(refused_in_quota_day_of(late)) == at + timedelta(days=1, seconds=RESUME_MARGIN_S)


def test_the_refused_call_says_when_it_was_sent_sync_and_async(
    emulator: DataWorksEmulator, dataworks_conn: str
) -> None:
    from airflow_provider_dataworks.hooks.dataworks import DataWorksHook

    emulator.load_spec({"quota": {"daily": 1}})
    hook = DataWorksHook()
    hook.get_task(RELEASE)
    for call in (lambda: hook.get_task(RELEASE), lambda: asyncio.run(hook.aget_task(RELEASE))):
        before = time_module.time()
        with pytest.raises(DataWorksApiError) as err:
            call()
        assert err.value.daily_quota and err.value.sent_at is not None
        assert before <= err.value.sent_at <= time_module.time()
    assert len(emulator.calls_of("GetTask")) == 3  # refused at once, not retried


# ------------------------------------------------------------------------------------------ the emulator
def test_emulator_counts_per_quota_day_of_its_clock() -> None:
    with DataWorksEmulator() as emu:
        emu.load_spec({"quota": {"daily": 2, "reset": "10:15:30 UTC"}})
        key = "acct/cn-hangzhou"
        emu.quota.charge(key, utc(2026, 12, 2, 10, 15, 29), 0.0)
        emu.quota.charge(key, utc(2026, 12, 1, 10, 15, 30), 1.0)  # same quota day (since 12-01 10:15:30)
        with pytest.raises(Exception, match="daily call quota"):
            emu.quota.charge(key, utc(2026, 12, 2, 10, 15, 29, 999999), 2.0)
        assert emu.quota.used_today(key, utc(2026, 12, 2, 10, 15, 29)) == 2
        emu.quota.charge(key, utc(2026, 12, 2, 10, 15, 30), 3.0)  # the reset: a new day
        assert emu.quota.used_today(key, utc(2026, 12, 2, 23, 0)) == 1
        assert emu.quota.used_today("other/cn-hangzhou", utc(2026, 12, 2, 23, 0)) == 0
        with pytest.raises(ValueError, match="quota"):
            emu.load_spec({"quota": {"per_day": 2}})


# ------------------------------------------------------------------------------------------ dag.test()
#: The connection's ``daily_quota_reset`` in the runs that meet the quota: a stand-in, read as the reset decided when
#: the quota is met (:class:`ResetAtTheRefusal`).
STAND_IN_RESET = "12:34:56 UTC"
#: ``api_limits.RESUME_MARGIN_S`` in those runs (30 s for users): the task still waits past the reset, a second.
TEST_MARGIN_S = 1


class ResetAtTheRefusal:
    """The daily quota's reset, decided when the emulator refuses a call for it, before that refusal's answer leaves
    the emulator: nothing races the machine's speed (a reset set tens of seconds ahead did: the task had to meet the
    quota before it, or wait a day).

    - The provider: the connection's ``daily_quota_reset`` (:data:`STAND_IN_RESET`) reads as the next whole second
      of the real clock after the refusal (``"HH:MM:SS UTC"``, parsed as a user's), so the refused call was sent in
      the quota day that reset ends and the task waits for it: the reset + ``api_limits.RESUME_MARGIN_S``, lowered
      to :data:`TEST_MARGIN_S` (a module attribute read at each call; dag.test() runs the trigger in this process).
      ``QuotaReset.resume_at``, the deferral and the trigger's sleep run as they do.
    - The emulator: the refusal ends its quota day (its ``reset`` moves to its clock's now), so what the task sends
      once resumed counts in the next day.
    - ``use_up_after``: the day's quota is used up (by others) right after the emulator accepted that action.

    ``reset_epoch``: the provider's reset (epoch s); ``resumed_at``: when the emulator got the first call after the
    refusal (real clock), which the deferral must hold back past the reset + the margin.
    """

    def __init__(
        self, emu: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch, use_up_after: str | None = None
    ) -> None:
        from airflow_provider_dataworks.domain import api_limits
        from airflow_provider_dataworks.emulator.backend.errors import ApiError

        self.reset_epoch: float | None = None
        self.resumed_at: float | None = None
        self._use_up_after = use_up_after
        quota, stand_in = emu.quota, parse_reset(STAND_IN_RESET)
        charge, next_reset = quota.charge, QuotaReset.next_reset

        def charging(key: str, now: datetime, wall_seconds: float, action: str | None = None) -> None:
            try:
                charge(key, now, wall_seconds, action)
            except ApiError as err:
                if err.code == "Throttling.Api.Risk" and self.reset_epoch is None:
                    self.reset_epoch = float(int(time_module.time()) + 1)
                    limits = {k: getattr(quota, k) for k in ("qps", "read_qps", "write_qps", "daily")}
                    quota.configure(**limits, retry_after_ms=quota.retry_after_ms, reset=_time_of_day(now))
                raise
            if self.reset_epoch is not None and self.resumed_at is None:
                self.resumed_at = time_module.time()
            if action is not None and action == self._use_up_after:
                self._use_up_after = None
                quota.use_up(now)

        def reading(reset: QuotaReset, now: datetime) -> datetime:
            if reset == stand_in:
                assert self.reset_epoch is not None, "the provider asked for the reset before it met the quota"
                reset = parse_reset(_time_of_day(datetime.fromtimestamp(self.reset_epoch, UTC)))
            return next_reset(reset, now)

        monkeypatch.setattr(quota, "charge", charging)
        monkeypatch.setattr(QuotaReset, "next_reset", reading)
        monkeypatch.setattr(api_limits, "RESUME_MARGIN_S", TEST_MARGIN_S)

    def assert_waited_for_the_reset(self) -> None:
        """The quota was met, and the task's next call came after the reset + the margin, not before."""
        assert self.reset_epoch is not None, "the quota was never met"
        assert self.resumed_at is not None, "no call after the quota was met"
        assert self.resumed_at >= self.reset_epoch + TEST_MARGIN_S, (self.resumed_at, self.reset_epoch)


def _time_of_day(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%H:%M:%S} UTC"


def _reset_in(seconds: int, now: datetime) -> str:
    return _time_of_day(now + timedelta(seconds=seconds))


@pytest.mark.usefixtures("airflow_db")
def test_trigger_meets_the_quota_defers_to_the_reset_and_releases_once(
    emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture
) -> None:
    """Quota of 2, one spent already by another client: the task's ListTaskInstances fits, its trigger is refused.
    The task defers (DataWorksQuotaResetTrigger) to the reset (decided at the refusal, :class:`ResetAtTheRefusal`)
    + the margin, and goes on: it finds the instance again, still waiting, and triggers it. One try, no retry, one
    accepted trigger."""
    from airflow_provider_dataworks.hooks.dataworks import DataWorksHook

    emulator.load_spec({"quota": {"daily": 2}})  # the emulator's day: from 00:00 Shanghai until the refusal
    reset = ResetAtTheRefusal(emulator, monkeypatch)
    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", connection_json(emulator, daily_quota_reset=STAND_IN_RESET))
    DataWorksHook().get_task(RELEASE)  # another client's call: 1 of today's 2
    emulator.clear_calls()
    # execution_timeout: had the deferral aimed past it, the task would fail at once instead of hanging the test
    body = (
        "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001, retries=2, "
        "execution_timeout=__import__('datetime').timedelta(minutes=10))"
    )
    dr = run_dag(dag_source("quota_trigger", body), "quota_trigger", RUN_DATE)

    assert task_states(dr) == {"release": "success"}
    ti = dr.get_task_instance("release")
    assert ti.try_number == 1  # the deferral spent no try
    calls = [(c.action, c.error_code) for c in emulator.calls]
    assert calls == [
        ("ListTaskInstances", None),
        ("TriggerSchedulerTaskInstance", "Throttling.Api.Risk"),
        ("ListTaskInstances", None),
        ("TriggerSchedulerTaskInstance", None),
    ]
    assert emulator.instance_of(RELEASE, T).releases == 1
    reset.assert_waited_for_the_reset()
    out = capfd.readouterr().out
    assert "The daily quota of the account of connection 'dataworks_default' in region cn-hangzhou used up" in out
    assert "resuming at" in out and "The daily quota has reset" in out


@pytest.mark.usefixtures("airflow_db")
def test_a_reset_after_the_execution_timeout_fails_at_once_saying_when(
    emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture
) -> None:
    emulator.load_spec({"quota": {"daily": 1}})
    reset = _reset_in(3600, datetime.now(UTC))
    monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", connection_json(emulator, daily_quota_reset=reset))
    body = (
        "DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001, retries=2, "
        "execution_timeout=__import__('datetime').timedelta(minutes=10))"
    )
    dr = run_dag(dag_source("quota_past_deadline", body), "quota_past_deadline", RUN_DATE)
    assert task_states(dr) == {"release": "failed"}  # not up_for_retry: a retry meets the same quota
    out = capfd.readouterr().out
    assert "is used up (Throttling.Api.Risk) and resets" in out and "after this try's execution_timeout" in out
    assert [c.action for c in emulator.calls_of("TriggerSchedulerTaskInstance")] == ["TriggerSchedulerTaskInstance"]
