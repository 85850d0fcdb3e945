"""Deferred waits of one triggerer share their calls: the real trigger class and hook against the emulator."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_dataworks.domain.timing import bizdate_ms
from airflow_provider_dataworks.domain.wait_state import WaitState
from airflow_provider_dataworks.domain.waiting import PollPacer, next_cycle, next_poll_interval
from airflow_provider_dataworks.emulator import DataWorksEmulator
from airflow_provider_dataworks.triggers.dataworks import DataWorksTaskInstanceTrigger
from tests.conftest import connection_json, ms

pytestmark = [pytest.mark.every_airflow, pytest.mark.oldest_sdk]

WORKSPACE, FIRST_TASK = 2002, 900000
#: 2026-11-25 00:31 Asia/Shanghai: every 00:30 task of the workspace is running (they take an hour).
NOW = datetime(2026, 11, 24, 16, 31, tzinfo=timezone.utc)
FIRE = datetime(2026, 11, 24, 16, 30, tzinfo=timezone.utc)


@pytest.fixture
def busy_workspace(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[DataWorksEmulator, list[int]]]:
    """600 daily tasks of one workspace, all running at NOW; the connection allows 1,000 calls a second."""
    with DataWorksEmulator() as emu:
        ws = emu.add_workspace(WORKSPACE, "cn-hangzhou")
        for k in range(600):
            emu.add_task(ws, FIRST_TASK + k, f"load_{k}", cron="30 0 * * *", duration=timedelta(hours=1))
        emu.clock.freeze(NOW)
        ids = [emu.instance_of(FIRST_TASK + k, FIRE).id for k in range(600)]
        monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", connection_json(emu, project_id=WORKSPACE, qps=1000))
        yield emu, ids


async def first_event(trigger: DataWorksTaskInstanceTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger ended without an event")


def wait_on(instance_id: int, shared: bool = True) -> DataWorksTaskInstanceTrigger:
    wait = WaitState(
        instance_id=instance_id,
        poll_interval=1,
        max_poll_interval=1,
        project_id=WORKSPACE,
        bizdate_ms=bizdate_ms(ms(FIRE), "Asia/Shanghai"),
    )
    return DataWorksTaskInstanceTrigger(dataworks_conn_id="dataworks_default", wait=wait, shared=shared)


async def finish_after_first_poll(emu: DataWorksEmulator, calls_in_first_poll: int, waits: int = 0) -> None:
    """Once the first poll's calls are answered (and ``waits`` distinct instances were read), move the clock
    past the tasks' end. A call enters the emulator's log once its answer is decided, so the move cannot change it."""
    while len(emu.calls) < calls_in_first_poll or len({c.params.get("Id") for c in emu.calls}) < waits:
        await asyncio.sleep(0.05)
    emu.clock.advance(timedelta(hours=2))


async def test_600_waits_cost_two_list_calls_per_poll_and_no_get(
    busy_workspace: tuple[DataWorksEmulator, list[int]],
) -> None:
    """Once every wait has polled, each cycle reads all 600 with ceil(600 / 500) = 2 calls. The first cycle may
    take an extra call: waits whose first poll comes later than the batching window (0.5 s) after the first one
    (600 triggers starting at once on a busy machine) join the next batch, and from the next cycle on are in step."""
    emu, ids = busy_workspace

    def asked() -> set[int]:
        return {i for c in list(emu.calls) for i in json.loads(c.params["Ids"])}

    async def finish_once_all_polled() -> int:
        while asked() != set(ids):
            await asyncio.sleep(0.05)
        before = len(emu.calls)
        emu.clock.advance(timedelta(hours=2))
        return before

    *events, calls_before_done = await asyncio.gather(*(first_event(wait_on(i)) for i in ids), finish_once_all_polled())
    assert [e["status"] for e in events] == ["success"] * 600
    actions = [c.action for c in emu.calls]
    assert set(actions) == {"ListTaskInstances"}
    assert all(len(json.loads(c.params["Ids"])) <= 500 for c in emu.calls)
    assert 2 <= calls_before_done <= 6, calls_before_done  # the cycles while the 600 were still starting
    # The cycle that saw them end: all 600 in step, 2 calls (a loop stalled past a whole interval makes some
    # waits skip to the next cycle: their one or two calls come then, never one per wait).
    assert 2 <= len(actions) - calls_before_done <= 4, len(actions)


async def test_waits_deferred_at_different_moments_poll_in_step(
    busy_workspace: tuple[DataWorksEmulator, list[int]],
) -> None:
    """300 waits whose triggers start spread over 2.5 s (2.5 poll intervals; the batching window is 0.5 s) join
    the shared cycles: once all have started, one call reads all 300, and later cycles do the same."""
    emu, ids = busy_workspace
    waits = ids[:300]
    started: list[float] = []

    async def deferred_later(k: int, instance_id: int) -> dict[str, Any]:
        await asyncio.sleep(2.5 * k / len(waits))
        started.append(time.monotonic())
        return await first_event(wait_on(instance_id))

    async def finish_after_two_whole_cycles() -> None:
        while sum(len(json.loads(c.params["Ids"])) == 300 for c in list(emu.calls)) < 2:
            await asyncio.sleep(0.05)
        emu.clock.advance(timedelta(hours=2))

    events = await asyncio.gather(*(deferred_later(k, i) for k, i in enumerate(waits)), finish_after_two_whole_cycles())
    assert [e["status"] for e in events[:-1]] == ["success"] * 300
    sizes = [len(json.loads(c.params["Ids"])) for c in emu.calls]
    whole = sizes.index(300)
    # In step from then on: one call of all 300 per cycle on a quiet machine. On a busy one a loop stalled past
    # the batching window splits a cycle's batch in two, and one stalled past a whole interval makes some waits
    # skip a cycle: still at most 2 calls per 300 reads, never one per wait.
    steady = sizes[whole:]
    assert len(steady) <= 2 * math.ceil(sum(steady) / 300), sizes
    # While waits were still starting (2.5 s on a quiet machine: 3-4 calls, one a cycle or a split one; longer
    # when the loop is slow to wake them), each cycle read the waits started so far, at most in 2 calls as above.
    starting = max(started) - min(started)
    print(f"waits started over {starting:.2f} s; calls of 300 waits each cycle: {sizes}")
    assert whole <= 2 * (math.ceil(starting) + 1), (starting, sizes)


def test_shared_cycles_are_multiples_of_the_interval_never_before_due() -> None:
    assert next_cycle(120.0, 60) == 120
    assert next_cycle(120.001, 60) == 180
    assert next_cycle(1_795_449_601.5, 1) == 1_795_449_602
    for due in (0.2, 59.9, 61, 1e9 + 0.3):
        cycle = next_cycle(due, 7.5)
        assert due <= cycle + 1e-6 < due + 7.5 and abs(cycle / 7.5 - round(cycle / 7.5)) < 1e-9


async def test_without_sharing_each_wait_reads_its_own_instance(
    busy_workspace: tuple[DataWorksEmulator, list[int]],
) -> None:
    emu, ids = busy_workspace
    events = await asyncio.gather(
        *(first_event(wait_on(i, shared=False)) for i in ids[:50]), finish_after_first_poll(emu, 50, waits=50)
    )
    assert [e["status"] for e in events[:-1]] == ["success"] * 50
    assert {c.action for c in emu.calls} == {"GetTaskInstance"}
    reads = Counter(int(c.params["Id"]) for c in emu.calls)
    assert set(reads) == set(ids[:50]) and min(reads.values()) >= 2  # every wait, every poll (at least 2)


async def test_waits_on_the_same_workflow_share_one_call(
    busy_workspace: tuple[DataWorksEmulator, list[int]],
) -> None:
    emu, ids = busy_workspace
    waits = [
        DataWorksTaskInstanceTrigger(
            dataworks_conn_id="dataworks_default",
            wait=WaitState(
                instance_id=ids[0],
                wait_for="workflow",
                poll_interval=1,
                released=True,
                workflow_instance_id=emu.backend.instances[ids[0]].workflow_instance_id,
            ),
        )
        for _ in range(20)
    ]
    emu.clock.advance(timedelta(hours=2))
    events = await asyncio.gather(*(first_event(w) for w in waits))
    assert {e["status"] for e in events} == {"success"}
    assert [c.action for c in emu.calls] == ["GetWorkflowInstance"]


def test_the_interval_backs_off_while_nothing_changes_never_below_what_was_asked() -> None:
    intervals, current = [], 60.0
    for _ in range(5):
        current = next_poll_interval(current, poll_interval=60, cap=240, changed=False)
        intervals.append(current)
    assert intervals == [90, 135, 202.5, 240, 240]
    assert next_poll_interval(240, poll_interval=60, cap=240, changed=True) == 60
    assert next_poll_interval(60, poll_interval=60, cap=60, changed=False) == 60  # cap = interval: no backoff


def test_the_pacer_resets_when_a_status_changes() -> None:
    pacer = PollPacer(poll_interval=60, cap=240)
    running, done = {"instance 1": "Running"}, {"instance 1": "Success"}
    assert [pacer.after(running) for _ in range(3)] == [60, 90, 135]
    assert pacer.after(done) == 60
