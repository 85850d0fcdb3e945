"""The seed's trigger conditions, 24-hour retention, trigger-once and DST days, through the official SDK."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from alibabacloud_dataworks_public20240518 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException
from darabonba.runtime import RuntimeOptions

from airflow_provider_dataworks.domain.timing import bizdate_ms, parse_trigger_time
from airflow_provider_dataworks.emulator import DataWorksEmulator
from tests.conftest import LOAD_A, RELEASE, SHANGHAI_0030, UPSTREAM, WORKSPACE, ms
from tests.emulator.test_emulator import client

pytestmark = pytest.mark.oldest_sdk

T = ms(SHANGHAI_0030)


def trigger(emu: DataWorksEmulator, task_id: int = RELEASE, at: int = T, env: str = "Prod") -> bool:
    req = m.TriggerSchedulerTaskInstanceRequest(task_id=task_id, env_type=env, trigger_time=at)
    return client(emu).trigger_scheduler_task_instance_with_options(req, RuntimeOptions()).body.success


def status(emu: DataWorksEmulator, task_id: int, at: int = T) -> str:
    return emu.instance_of(task_id, at).status.value


def test_trigger_once_second_trigger_has_no_effect(emulator: DataWorksEmulator) -> None:
    assert trigger(emulator) is True
    assert trigger(emulator) is True  # default: answers Success, changes nothing
    inst = emulator.instance_of(RELEASE, T)
    assert (inst.accepted_triggers, inst.repeated_triggers, inst.releases) == (1, 1, 1)


def test_repeat_trigger_can_be_an_error() -> None:
    with DataWorksEmulator(repeat_trigger="error") as emu:
        ws = emu.add_workspace(WORKSPACE)
        emu.add_task(ws, RELEASE, "release", http_trigger=True, cron="30 0 * * *")
        emu.clock.freeze(SHANGHAI_0030 + timedelta(minutes=1))
        trigger(emu)
        with pytest.raises(ClientException) as err:
            trigger(emu)
        assert err.value.code == "Invalid.TaskInstance.AlreadyTriggered"


def test_trigger_before_upstream_finishes_is_kept_and_consumed(emulator: DataWorksEmulator) -> None:
    emulator.clock.set(SHANGHAI_0030 - timedelta(minutes=29))  # 00:01: upstream (00:00, 2 min) still running
    assert status(emulator, UPSTREAM, T - 1_800_000) == "Running"
    assert status(emulator, RELEASE) == "NotRun"
    trigger(emulator)
    emulator.clock.advance(timedelta(minutes=10))  # 00:11: upstream done, but 00:30 not reached
    assert status(emulator, RELEASE) == "WaitTime"
    emulator.clock.set(SHANGHAI_0030 + timedelta(seconds=1))
    assert status(emulator, RELEASE) == "Success"
    assert status(emulator, LOAD_A) == "Running"


def test_trigger_kept_only_24_hours() -> None:
    with DataWorksEmulator() as emu:
        ws = emu.add_workspace(WORKSPACE)
        emu.add_task(ws, UPSTREAM, "slow_upstream", cron="0 0 * * *", duration=timedelta(hours=30))
        emu.add_task(ws, RELEASE, "release", http_trigger=True, cron="30 0 * * *", upstream=[UPSTREAM])
        emu.clock.freeze(SHANGHAI_0030 + timedelta(minutes=1))
        trigger(emu)
        emu.clock.advance(timedelta(hours=24, minutes=1))
        inst = emu.instance_of(RELEASE, T)
        assert inst.status.value == "NotRun" and inst.dropped_triggers == 1
        emu.clock.advance(timedelta(hours=6))  # upstream finishes: the instance waits, the trigger is gone
        assert status(emu, RELEASE) == "WaitTrigger"
        trigger(emu)
        assert status(emu, RELEASE) == "Success"
        assert emu.instance_of(RELEASE, T).releases == 1


def test_scheduled_time_not_reached_then_reached(emulator: DataWorksEmulator) -> None:
    emulator.clock.set(SHANGHAI_0030 - timedelta(minutes=5))
    assert status(emulator, RELEASE) == "WaitTime"
    emulator.clock.set(SHANGHAI_0030)
    assert status(emulator, RELEASE) == "WaitTrigger"


def test_frozen_instance_refuses_the_trigger(emulator: DataWorksEmulator) -> None:
    inst = emulator.instance_of(RELEASE, T)
    client(emulator).suspend_task_instances(m.SuspendTaskInstancesRequest(ids=[inst.id]))
    with pytest.raises(ClientException) as err:
        trigger(emulator)
    assert err.value.code == "Forbidden.TaskInstance.Frozen"
    client(emulator).resume_task_instances(m.ResumeTaskInstancesRequest(ids=[inst.id]))
    assert trigger(emulator) and status(emulator, RELEASE) == "Success"


def test_no_instance_and_not_an_http_trigger_node(emulator: DataWorksEmulator) -> None:
    with pytest.raises(ClientException) as err:
        trigger(emulator, at=T + 60_000)
    assert (err.value.status_code, err.value.code) == (404, "Invalid.TaskInstance.NotFound")
    with pytest.raises(ClientException) as err:
        trigger(emulator, task_id=LOAD_A)
    assert err.value.code == "Invalid.Param"
    with pytest.raises(ClientException):
        trigger(emulator, env="Dev")


def test_resource_capacity_queues_the_released_instance() -> None:
    with DataWorksEmulator() as emu:
        ws = emu.add_workspace(WORKSPACE, resource_capacity=1)
        emu.add_task(ws, 1, "hog", cron="30 0 * * *", duration=timedelta(minutes=10))
        emu.add_task(ws, RELEASE, "release", http_trigger=True, cron="30 0 * * *", duration=timedelta(seconds=1))
        emu.clock.freeze(SHANGHAI_0030 + timedelta(minutes=1))
        assert status(emu, 1) == "Running"
        trigger(emu)
        assert status(emu, RELEASE) == "WaitResource"
        emu.clock.advance(timedelta(minutes=10))
        assert status(emu, RELEASE) == "Success"


@pytest.mark.parametrize(("recurrence", "final"), [("Skip", "Success"), ("Pause", "Failure")])
def test_dry_run_and_pause_recurrences(recurrence: str, final: str) -> None:
    with DataWorksEmulator() as emu:
        ws = emu.add_workspace(WORKSPACE)
        emu.add_task(ws, RELEASE, "release", http_trigger=True, cron="30 0 * * *", recurrence=recurrence)
        emu.add_task(ws, LOAD_A, "load", cron="30 0 * * *", upstream=[RELEASE])
        emu.clock.freeze(SHANGHAI_0030 + timedelta(minutes=1))
        assert status(emu, RELEASE) == final
        assert trigger(emu) is True and emu.instance_of(RELEASE, T).accepted_triggers == 0
        assert status(emu, LOAD_A) == ("Running" if final == "Success" else "NotRun")


def test_t_plus_1_generation() -> None:
    with DataWorksEmulator() as emu:
        ws = emu.add_workspace(WORKSPACE)
        emu.add_task(ws, RELEASE, "release", http_trigger=True, cron="30 0 * * *")
        c = client(emu)
        bizdate = bizdate_ms(T, "Asia/Shanghai")
        emu.clock.freeze(datetime(2026, 11, 24, 15, 29, tzinfo=timezone.utc))  # 23:29 the day before
        req = m.ListTaskInstancesRequest(project_id=WORKSPACE, bizdate=bizdate)
        assert c.list_task_instances(req).body.paging_info.total_count == 0
        emu.clock.advance(timedelta(minutes=1))  # 23:30: generated
        assert c.list_task_instances(req).body.paging_info.total_count == 1


def test_late_deploy_gets_instances_the_day_after_next() -> None:
    with DataWorksEmulator() as emu:
        ws = emu.add_workspace(WORKSPACE)
        deployed = datetime(2026, 11, 24, 15, 45, tzinfo=timezone.utc)  # 23:45 Shanghai
        emu.add_task(ws, RELEASE, "release", http_trigger=True, cron="30 0 * * *", deployed_at=deployed)
        emu.clock.freeze(datetime(2026, 11, 25, 16, 31, tzinfo=timezone.utc))  # 26th 00:31
        with pytest.raises(LookupError):
            emu.instance_of(RELEASE, T)
        assert emu.instance_of(RELEASE, T + 86_400_000).status.value == "WaitTrigger"


@pytest.mark.parametrize(("region", "day", "hourly", "daily_dry_run"), [
    ("eu-central-1", date(2026, 3, 29), 23, True),
    ("eu-central-1", date(2026, 10, 25), 24, False),
    ("us-west-1", date(2026, 3, 8), 23, True),
    ("us-west-1", date(2026, 11, 1), 24, False),
])  # fmt: skip
def test_dst_days_through_the_api(region: str, day: date, hourly: int, daily_dry_run: bool) -> None:
    with DataWorksEmulator() as emu:
        ws = emu.add_workspace(WORKSPACE, region)
        emu.add_task(ws, 1, "hourly", http_trigger=True, cron="0 * * * *")
        emu.add_task(ws, 2, "daily_0230", http_trigger=True, cron="00 30 02 * * ?")
        emu.clock.freeze(datetime(2026, 12, 31, tzinfo=timezone.utc))
        zone = ws.timezone
        bizdate = bizdate_ms(parse_trigger_time(f"{day} 12:00:00", zone), zone)
        listed = (
            client(emu)
            .list_task_instances(m.ListTaskInstancesRequest(project_id=WORKSPACE, bizdate=bizdate, page_size=100))
            .body.paging_info.task_instances
        )
        hours = [i for i in listed if i.task_id == 1]
        (daily,) = [i for i in listed if i.task_id == 2]
        assert len(hours) == hourly and len({i.trigger_time for i in hours}) == hourly
        assert (daily.trigger_recurrence == "Skip") is daily_dry_run
        assert all(i.bizdate == bizdate for i in listed)
