"""What real DataWorks has besides daily scheduled instances, through the official SDK: backfills, manual runs,
smoke tests and triggered workflows; weekly / monthly nodes (SkipCycle); scheduling calendars; every official
recurrence; RerunMode; rerun history; UseLatestConfig."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from alibabacloud_dataworks_public20240518 import models as m
from alibabacloud_dataworks_public20240518.client import Client
from alibabacloud_tea_openapi.models import Config

from airflow_provider_dataworks.emulator import DataWorksEmulator
from tests.conftest import LOAD_A, LOAD_B, RELEASE, SHANGHAI_0030, UPSTREAM, WORKSPACE, ms

SHANGHAI = timezone(timedelta(hours=8))
BIZDATE = ms(datetime(2026, 11, 24, tzinfo=SHANGHAI))  # scheduled day 2026-11-25, a Wednesday
WEEKLY, MONTHLY, AFTER_WEEKLY, CALENDAR, MANUAL = 700020, 700021, 700022, 700023, 700024


def client(emu: DataWorksEmulator) -> Client:
    return Client(
        Config(
            endpoint=emu.host_port, protocol="http", read_timeout=5000,
            access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret,
        )
    )  # fmt: skip


def listed(
    c: Client, bizdate: int = BIZDATE, **filters: object
) -> list[m.ListTaskInstancesResponseBodyPagingInfoTaskInstances]:
    request = m.ListTaskInstancesRequest(project_id=WORKSPACE, bizdate=bizdate, page_size=500, **filters)
    return c.list_task_instances(request).body.paging_info.task_instances


def bizdate_of(day: date) -> int:
    """The Bizdate of scheduled date ``day`` (the day before, 00:00 Shanghai)."""
    return ms(datetime.combine(day - timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI))


# ---------------------------------------------------------------------------------------------- instance types
@pytest.mark.parametrize("kind", ["SupplementData", "Manual", "ManualWorkflow", "ManualFlow", "SmokeTest",
                                  "TriggerWorkflow"])  # fmt: skip
def test_each_instance_type_is_listed_beside_the_scheduled_one(emulator: DataWorksEmulator, kind: str) -> None:
    c = client(emulator)
    run = emulator.add_instance_run(LOAD_A, SHANGHAI_0030, kind)
    rows = listed(c, task_id=LOAD_A)
    assert sorted(r.workflow_instance_type for r in rows) == sorted(["Normal", kind])
    (scheduled,) = [r for r in rows if r.workflow_instance_type == "Normal"]
    (other,) = listed(c, task_id=LOAD_A, workflow_instance_type=kind)
    assert (other.id, other.task_id, other.trigger_time, other.bizdate) == (
        run.id, LOAD_A, scheduled.trigger_time, scheduled.bizdate,
    )  # fmt: skip
    assert other.workflow_instance_id != scheduled.workflow_instance_id
    manual = kind in ("Manual", "ManualWorkflow", "ManualFlow")
    assert other.trigger_type == ("Manual" if manual else "Scheduler")
    assert other.trigger_recurrence == ("Manual" if manual else "Normal")
    wfi = c.get_workflow_instance(m.GetWorkflowInstanceRequest(id=other.workflow_instance_id)).body.workflow_instance
    assert wfi.type == ("ManualWorkflow" if kind == "ManualFlow" else kind) and wfi.biz_date == BIZDATE
    # it does not wait for the upstream release (no links) and runs like a job: 5 minutes, then Success
    assert scheduled.status == "NotRun" and other.status == "Running"
    emulator.clock.advance(timedelta(minutes=5))
    assert c.get_task_instance(m.GetTaskInstanceRequest(id=run.id)).body.task_instance.status == "Success"
    assert [r.workflow_instance_type for r in listed(c, task_id=LOAD_A, workflow_instance_type="Normal")] == ["Normal"]


def test_a_backfill_of_an_http_trigger_node_needs_no_trigger_and_takes_none(emulator: DataWorksEmulator) -> None:
    c = client(emulator)
    emulator.set_instance_status(emulator.instance_of(UPSTREAM, SHANGHAI_0030 - timedelta(minutes=30)).id, "Success")
    backfill = emulator.add_instance_run(RELEASE, SHANGHAI_0030, "SupplementData")
    assert backfill.status == "Success"  # an HTTP trigger node of 0 s: released by DataWorks itself
    request = m.TriggerSchedulerTaskInstanceRequest(task_id=RELEASE, trigger_time=ms(SHANGHAI_0030))  # no EnvType
    assert c.trigger_scheduler_task_instance(request).body.success is True
    scheduled = emulator.instance_of(RELEASE, SHANGHAI_0030)
    assert scheduled.accepted_triggers == 1 and backfill.accepted_triggers == 0


def test_a_run_for_a_future_day_waits_for_its_scheduled_time_and_status_sets_it(emulator: DataWorksEmulator) -> None:
    later = SHANGHAI_0030 + timedelta(days=2)
    backfill = emulator.add_instance_run(LOAD_B, later, "SupplementData")
    assert backfill.status == "WaitTime"
    failed = emulator.add_instance_run(LOAD_B, later, "SmokeTest", status="Failure")
    assert failed.status == "Failure"
    emulator.clock.advance(timedelta(days=2, minutes=3))
    assert emulator.backend.instance(backfill.id).status == "Success"
    with pytest.raises(ValueError, match="not scheduled at"):
        emulator.add_instance_run(LOAD_B, later + timedelta(minutes=1), "SupplementData")
    with pytest.raises(ValueError, match="Normal instances"):
        emulator.add_instance_run(LOAD_B, later, "Normal")


def test_scenario_runs_key() -> None:
    spec = {
        "workspaces": [{"id": WORKSPACE, "tasks": [{
            "id": LOAD_A, "name": "load", "cron": "30 0 * * *",
            "runs": [{"scheduled_at": "2026-11-25T00:30:00+08:00", "type": "SupplementData", "status": "Success"},
                     {"scheduled_at": "2026-11-25T00:30:00+08:00", "type": "SmokeTest"}],
        }]}],
        "clock": {"set": "2026-11-24T16:31:00+00:00", "freeze": True},
    }  # fmt: skip
    with DataWorksEmulator() as emu:
        emu.load_spec(spec)
        rows = listed(client(emu))
        assert sorted((r.workflow_instance_type, r.status) for r in rows) == [
            ("Normal", "Running"), ("SmokeTest", "Running"), ("SupplementData", "Success"),
        ]  # fmt: skip


# ---------------------------------------------------------------------------------------------- recurrences
def test_weekly_and_monthly_nodes_are_skip_cycle_dry_runs_outside_their_cycle() -> None:
    with DataWorksEmulator() as emu:
        ws = emu.add_workspace(WORKSPACE, "cn-hangzhou")
        emu.add_task(ws, WEEKLY, "weekly", cron="0 6 * * 1", duration=timedelta(minutes=10))  # Mondays 06:00
        emu.add_task(ws, MONTHLY, "monthly", cron="00 00 06 1 * ?", duration=timedelta(minutes=10))  # the 1st
        emu.add_task(
            ws, AFTER_WEEKLY, "after_weekly", cron="0 7 * * *", upstream=[WEEKLY], duration=timedelta(minutes=1)
        )
        emu.clock.freeze(datetime(2026, 12, 10, tzinfo=timezone.utc))
        c = client(emu)
        seen: dict[tuple[int, date], tuple[str, str]] = {}
        for offset in range(7):
            day = date(2026, 11, 27) + timedelta(days=offset)  # Fri 27 Nov .. Thu 3 Dec
            for row in listed(c, bizdate_of(day)):
                seen[(row.task_id, day)] = (row.trigger_recurrence, row.status)
        assert seen[(WEEKLY, date(2026, 11, 30))] == ("Normal", "Success")  # a Monday
        assert seen[(MONTHLY, date(2026, 12, 1))] == ("Normal", "Success")
        for (task_id, day), (recurrence, status) in seen.items():
            in_cycle = (task_id == WEEKLY and day.weekday() == 0) or (task_id == MONTHLY and day.day == 1)
            expected = "Normal" if in_cycle or task_id == AFTER_WEEKLY else "SkipCycle"
            assert (recurrence, status) == (expected, "Success"), (task_id, day)
        dry = emu.instance_of(WEEKLY, datetime(2026, 12, 1, 6, tzinfo=SHANGHAI))
        assert dry.started_at is None and dry.finished_at == dry.trigger_time  # ended at its time, without running
        got = c.get_task(m.GetTaskRequest(id=WEEKLY)).body.task.trigger
        assert (got.cron, got.recurrence) == ("00 00 06 ? * 2", "Normal")


def test_calendar_skip_and_pause_days() -> None:
    with DataWorksEmulator() as emu:
        ws = emu.add_workspace(WORKSPACE, "cn-hangzhou")
        calendar = {"skip": ["2026-11-26"], "pause": [date(2026, 11, 27)]}
        emu.add_task(ws, CALENDAR, "calendar", cron="0 6 * * *", calendar=calendar, duration=timedelta(minutes=1))
        emu.add_task(ws, LOAD_A, "after", cron="0 7 * * *", upstream=[CALENDAR], duration=timedelta(minutes=1))
        emu.clock.freeze(datetime(2026, 11, 28, tzinfo=timezone.utc))
        c = client(emu)
        by_day = {}
        for day in (date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27)):
            rows = {r.task_id: r for r in listed(c, bizdate_of(day))}
            by_day[day] = (rows[CALENDAR].trigger_recurrence, rows[CALENDAR].status, rows[LOAD_A].status)
        assert by_day == {
            date(2026, 11, 25): ("Normal", "Success", "Success"),
            date(2026, 11, 26): ("SkipCalendar", "Success", "Success"),  # a dry run releases its downstream
            date(2026, 11, 27): ("PauseCalendar", "Failure", "NotRun"),  # paused: fails like Pause
        }
        skip_calendar = listed(c, bizdate_of(date(2026, 11, 26)), trigger_recurrence="SkipCalendar")
        assert [r.task_id for r in skip_calendar] == [CALENDAR]


def test_calendar_in_a_scenario_file() -> None:
    spec = {"workspaces": [{"id": WORKSPACE, "tasks": [
        {"id": CALENDAR, "name": "calendar", "cron": "0 6 * * *", "calendar": {"pause": ["2026-11-26"]},
         "rerun_mode": "AllDenied"}]}]}  # fmt: skip
    with DataWorksEmulator() as emu:
        emu.load_spec(spec)
        emu.clock.freeze(datetime(2026, 11, 27, tzinfo=timezone.utc))
        (row,) = listed(client(emu), bizdate_of(date(2026, 11, 26)))
        assert (row.trigger_recurrence, row.status, row.rerun_mode) == ("PauseCalendar", "Failure", "AllDenied")


@pytest.mark.parametrize(
    ("recurrence", "final"),
    [("SkipUnchoose", "Success"), ("ConditionUnchoose", "Success"), ("RealtimeDeprecated", "Success"),
     ("SkipCycle", "Success"), ("SkipCalendar", "Success"), ("PauseCalendar", "Failure"), ("Skip", "Success"),
     ("Pause", "Failure")],
)  # fmt: skip
def test_every_dry_run_and_paused_recurrence(recurrence: str, final: str) -> None:
    with DataWorksEmulator() as emu:
        ws = emu.add_workspace(WORKSPACE, "cn-hangzhou")
        emu.add_task(ws, CALENDAR, "node", cron="30 0 * * *", recurrence=recurrence, duration=timedelta(hours=1))
        emu.clock.freeze(SHANGHAI_0030 + timedelta(seconds=1))
        (row,) = listed(client(emu))
        assert (row.trigger_recurrence, row.status) == (recurrence, final)


def test_a_manual_task_has_no_scheduled_instances_but_manual_runs() -> None:
    with DataWorksEmulator() as emu:
        ws = emu.add_workspace(WORKSPACE, "cn-hangzhou")
        emu.add_task(ws, MANUAL, "manual", cron="30 0 * * *", recurrence="Manual")
        emu.clock.freeze(SHANGHAI_0030 + timedelta(minutes=1))
        c = client(emu)
        assert listed(c) == []
        emu.add_instance_run(MANUAL, SHANGHAI_0030, "ManualWorkflow")
        (row,) = listed(c)
        assert (row.trigger_type, row.trigger_recurrence, row.workflow_instance_type) == (
            "Manual", "Manual", "ManualWorkflow",
        )  # fmt: skip
        assert c.get_task(m.GetTaskRequest(id=MANUAL)).body.task.trigger.type == "Manual"


def test_unofficial_recurrence_and_rerun_mode_are_refused() -> None:
    with DataWorksEmulator() as emu:
        ws = emu.add_workspace(WORKSPACE, "cn-hangzhou")
        with pytest.raises(ValueError, match="official"):
            emu.add_task(ws, 1, "x", recurrence="Sometimes")
        with pytest.raises(ValueError, match="official"):
            emu.add_task(ws, 2, "y", rerun_mode="Maybe")


# ---------------------------------------------------------------------------------------------- reruns
@pytest.mark.parametrize(
    ("mode", "outcome", "allowed"),
    [("AllAllowed", "Success", True), ("AllAllowed", "Failure", True), ("FailureAllowed", "Failure", True),
     ("FailureAllowed", "Success", False), ("AllDenied", "Failure", False), ("AllDenied", "Success", False)],
)  # fmt: skip
def test_rerun_mode_decides_each_rerun(mode: str, outcome: str, allowed: bool) -> None:
    with DataWorksEmulator() as emu:
        ws = emu.add_workspace(WORKSPACE, "cn-hangzhou")
        emu.add_task(ws, LOAD_A, "load", cron="30 0 * * *", rerun_mode=mode, outcome=outcome, duration=timedelta(0))
        emu.clock.freeze(SHANGHAI_0030 + timedelta(minutes=5))
        c = client(emu)
        (row,) = listed(c)
        assert (row.rerun_mode, row.status) == (mode, outcome)
        info = c.rerun_task_instances(m.RerunTaskInstancesRequest(ids=[row.id])).body.success_info[str(row.id)]
        assert info.success is allowed
        if not allowed:
            assert f"RerunMode is {mode}" in info.message
        assert emu.backend.instance(row.id).run_number == (2 if allowed else 1)


def test_rerun_history_by_id_and_use_latest_config(emulator: DataWorksEmulator) -> None:
    c = client(emulator)
    inst = emulator.instance_of(LOAD_B, SHANGHAI_0030)
    emulator.set_instance_status(inst.id, "Failure")
    first = c.rerun_task_instances(m.RerunTaskInstancesRequest(ids=[inst.id], use_latest_config=True)).body
    assert first.success_info[str(inst.id)].success
    assert emulator.calls_of("RerunTaskInstances")[-1].params["UseLatestConfig"] == "True"
    assert emulator.backend.instance(inst.id).use_latest_config is True
    emulator.set_instance_status(inst.id, "Success")
    c.rerun_task_instances(m.RerunTaskInstancesRequest(ids=[inst.id], comment="again"))
    assert emulator.backend.instance(inst.id).use_latest_config is None
    history = listed(c, id=inst.id, sort_by="Id Asc")
    assert [(r.id, r.run_number, r.status) for r in history] == [
        (inst.id, 1, "Failure"), (inst.id, 2, "Success"), (inst.id, 3, "NotRun"),
    ]  # fmt: skip
    assert [r.run_number for r in listed(c, task_id=LOAD_B)] == [3]  # other listings: the latest run only
    latest = c.get_task_instance(m.GetTaskInstanceRequest(id=inst.id)).body.task_instance
    assert latest.run_number == 3
