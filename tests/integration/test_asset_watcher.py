"""The asset watcher (DataWorksInstanceSucceededTrigger): the real trigger, hook and SDK against the emulator.

The triggers are driven with ``run()`` in asyncio, as the triggerer does. Business dates follow the emulator's
clock (``dataworks_now_ms`` is moved with it); the record of what was reported lives in a dict-backed store here
(the triggerer gives the asset's state store or a Variable; tests/system/test_e2e_asset_watcher.py would drive those).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_dataworks.domain.timing import bizdate_ms
from airflow_provider_dataworks.emulator import DataWorksEmulator
from airflow_provider_dataworks.version_compat import AIRFLOW_V_3_0_PLUS
from tests.conftest import RELEASE, SHANGHAI_0030, UPSTREAM, WORKSPACE, T, connection_json, ms

pytestmark = [
    pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="asset watchers are Airflow 3's (BaseEventTrigger)"),
    pytest.mark.every_airflow,
]

ZONE = "Asia/Shanghai"
DAY_MS = 86_400_000
TODAY_BIZ = bizdate_ms(T, ZONE)  # 2026-11-24: the instances scheduled on 2026-11-25
YESTERDAY_BIZ = bizdate_ms(T - DAY_MS, ZONE)


class DictStore:
    """A stand-in for the asset's state store: a record that outlives the trigger object."""

    where = "a test dict"

    def __init__(self) -> None:
        self.record: Mapping[str, Any] | None = None
        self.writes = 0

    async def aget(self) -> Mapping[str, Any] | None:
        return self.record

    async def aset(self, record: Mapping[str, Any]) -> None:
        self.record = dict(record)
        self.writes += 1


@pytest.fixture(autouse=True)
def dataworks_clock(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The watcher's "now" (which business dates are today's, when watching began) is the emulator's."""
    if "emulator" in request.fixturenames:
        follow_clock(request.getfixturevalue("emulator"), monkeypatch)


def follow_clock(emu: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_dataworks.triggers import asset_watcher

    monkeypatch.setattr(asset_watcher, "dataworks_now_ms", lambda: ms(emu.clock.now()))


def watcher(store: DictStore | None = None, **kwargs: Any) -> Any:
    from airflow_provider_dataworks.triggers.asset_watcher import DataWorksInstanceSucceededTrigger

    kwargs.setdefault("dataworks_task_id", RELEASE)
    trigger = DataWorksInstanceSucceededTrigger(poll_interval=1, quiet_poll_interval=2, **kwargs)
    trigger.state_store = store if store is not None else DictStore()
    return trigger


class Running:
    """Triggers running as in a triggerer; their events, in order."""

    def __init__(self, *triggers: Any, on_event: Callable[[], None] | None = None) -> None:
        self.events: list[list[dict[str, Any]]] = [[] for _ in triggers]
        self.on_event = on_event  # called in the trigger's task as it hands out each event
        self.tasks = [asyncio.create_task(self._pump(t, k)) for k, t in enumerate(triggers)]

    async def _pump(self, trigger: Any, k: int) -> None:
        async for event in trigger.run():
            self.events[k].append(dict(event.payload))
            if self.on_event is not None:
                self.on_event()

    async def until(self, done: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            for task in self.tasks:
                if task.done():
                    task.result()  # a trigger that ended raises here
                    raise AssertionError("a watcher ended")
            assert time.monotonic() < deadline, f"timed out; events: {self.events}"
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def lists(emu: DataWorksEmulator) -> list[Any]:
    return emu.calls_of("ListTaskInstances")


#: The current test's :class:`Cycles` (the autouse fixture ``watched_cycles``).
_WATCHED: dict[str, Cycles] = {}


@pytest.fixture(autouse=True)
def watched_cycles(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cycles]:
    _WATCHED["now"] = Cycles(monkeypatch)
    yield _WATCHED["now"]
    _WATCHED.clear()


async def cycles(run: Running, n: int, counted: Cycles | None = None) -> None:
    """Until every watcher of ``run`` has done ``n`` more poll cycles (a settled date is not read again, so cycles,
    not listings or seconds, say how long it watched); a limit of 30 s a cycle. ``counted``: the :class:`Cycles`
    that counts them (this module's tests: the one its autouse fixture set up)."""
    scheduled = (counted or _WATCHED["now"]).scheduled
    start = {task: scheduled.get(task, 0) for task in run.tasks}
    await run.until(lambda: all(scheduled.get(task, 0) >= start[task] + n for task in run.tasks), timeout=30.0 * n)


@pytest.mark.usefixtures("dataworks_conn")
async def test_one_event_per_succeeded_scheduled_instance_with_its_payload(emulator: DataWorksEmulator) -> None:
    today = emulator.instance_of(RELEASE, T)
    yesterday = emulator.instance_of(RELEASE, T - DAY_MS)
    run = Running(watcher())
    try:
        await cycles(run, 1)  # watching: both dates read
        emulator.clock.advance(timedelta(minutes=1))
        emulator.set_instance_status(today.id, "Success")
        emulator.set_instance_status(yesterday.id, "Failure")  # a failure fires nothing
        # runs of the node that are not the daily schedule fire nothing by default
        emulator.add_instance_run(RELEASE, T, "SupplementData", status="Success")
        emulator.add_instance_run(RELEASE, T, "Manual", status="Success")
        emulator.add_instance_run(RELEASE, T, "SmokeTest", status="Success")
        await run.until(lambda: len(run.events[0]) >= 1)
        await cycles(run, 4)  # more cycles: nothing repeated
    finally:
        await run.stop()
    [event] = run.events[0]
    assert event == {
        "kind": "dataworks_instance_succeeded",
        "instance_id": today.id,
        "status": "Success",
        "bizdate": "2026-11-24",
        "bizdate_ms": TODAY_BIZ,
        "scheduled_time": "2026-11-25 00:30:00 +08:00",
        "trigger_time_ms": T,
        "finished_time_ms": ms(emulator.clock.now()),
        "node_id": RELEASE,
        "node_name": "release",
        "workflow_instance_id": today.workflow_instance_id,
        "workflow_instance_type": "Normal",
        "project_id": WORKSPACE,
        "env_type": "Prod",
        "run_number": 1,
    }
    calls = lists(emulator)
    assert {c.params["TaskId"] for c in calls} == {str(RELEASE)}
    assert {c.params.get("WorkflowInstanceType") for c in calls} == {"Normal"}


@pytest.mark.usefixtures("dataworks_conn")
async def test_other_workflow_types_fire_only_when_opted_in(emulator: DataWorksEmulator) -> None:
    run = Running(watcher(workflow_instance_types=["Normal", "SupplementData", "SmokeTest"]))
    try:
        await cycles(run, 1)
        emulator.clock.advance(timedelta(minutes=1))
        backfill = emulator.add_instance_run(RELEASE, T, "SupplementData", status="Success")
        smoke = emulator.add_instance_run(RELEASE, T - DAY_MS, "SmokeTest", status="Success")
        emulator.add_instance_run(RELEASE, T, "Manual", status="Success")  # not opted in
        await run.until(lambda: len(run.events[0]) >= 2)
        await cycles(run, 4)
    finally:
        await run.stop()
    got = {(e["instance_id"], e["workflow_instance_type"], e["bizdate"]) for e in run.events[0]}
    assert got == {(backfill.id, "SupplementData", "2026-11-24"), (smoke.id, "SmokeTest", "2026-11-23")}
    assert len(run.events[0]) == 2
    assert all("WorkflowInstanceType" not in c.params for c in lists(emulator))  # several types: one listing


@pytest.mark.usefixtures("dataworks_conn")
async def test_a_restarted_watcher_repeats_nothing_and_reports_what_succeeded_meanwhile(
    emulator: DataWorksEmulator,
) -> None:
    store = DictStore()
    today = emulator.instance_of(RELEASE, T)
    yesterday = emulator.instance_of(RELEASE, T - DAY_MS)
    first = Running(watcher(store))
    try:
        await cycles(first, 1)
        emulator.clock.advance(timedelta(minutes=1))
        emulator.set_instance_status(today.id, "Success")
        await first.until(lambda: len(first.events[0]) == 1)
    finally:
        await first.stop()  # the triggerer dies
    assert [e["instance_id"] for e in first.events[0]] == [today.id]
    # While nothing watches, yesterday's instance succeeds (late, today).
    emulator.clock.advance(timedelta(minutes=5))
    emulator.set_instance_status(yesterday.id, "Success")
    emulator.clock.advance(timedelta(minutes=5))
    # Another triggerer starts the trigger afresh: a new object from the same kwargs, the same state store.
    second = Running(watcher(store))
    try:
        await second.until(lambda: len(second.events[0]) == 1)
        await cycles(second, 4)
    finally:
        await second.stop()
    assert [e["instance_id"] for e in second.events[0]] == [yesterday.id]
    assert store.record is not None
    assert store.record["reported"] == {str(TODAY_BIZ): [today.id], str(YESTERDAY_BIZ): [yesterday.id]}


@pytest.mark.usefixtures("dataworks_conn")
async def test_a_first_start_does_not_replay_what_succeeded_before(emulator: DataWorksEmulator) -> None:
    """A new watcher (no record) reports what succeeds from then on, not the day's earlier successes."""
    emulator.set_instance_status(emulator.instance_of(RELEASE, T - DAY_MS).id, "Success")
    emulator.clock.advance(timedelta(minutes=1))
    run = Running(watcher())
    try:
        await cycles(run, 4)
    finally:
        await run.stop()
    assert run.events[0] == []


@pytest.mark.usefixtures("dataworks_conn")
async def test_watchers_of_one_node_share_one_listing_per_date_and_cycle(emulator: DataWorksEmulator) -> None:
    """Five watchers (different assets, same node): each cycle one ListTaskInstances per business date; every
    watcher reports the success once. A date with nothing left to report is not read again."""
    emulator.instance_of(RELEASE, T)
    emulator.instance_of(UPSTREAM, T - 1_800_000)
    five = [watcher() for _ in range(5)]
    upstream = watcher(dataworks_task_id=UPSTREAM)  # its instances finished before watching began: settled
    run = Running(*five, upstream)
    try:
        await cycles(run, 4)  # both dates read each cycle
        emulator.clock.advance(timedelta(minutes=1))
        emulator.set_instance_status(emulator.instance_of(RELEASE, T).id, "Success")
        await run.until(lambda: all(len(e) == 1 for e in run.events[:5]))
        await cycles(run, 3)
    finally:
        await run.stop()
    watched = max(_WATCHED["now"].scheduled[task] for task in run.tasks)  # cycles, the last one maybe begun
    calls = lists(emulator)
    per_node_date = Counter((c.params["TaskId"], c.params["Bizdate"]) for c in calls)
    today_reads = per_node_date[(str(RELEASE), str(TODAY_BIZ))]
    yesterday_reads = per_node_date[(str(RELEASE), str(YESTERDAY_BIZ))]
    print(f"{watched} cycles: {per_node_date}")
    # one listing per date and cycle for the five (unshared: five a cycle)
    assert 2 <= yesterday_reads <= watched, per_node_date
    # today's date: read each cycle until its one instance succeeded and was reported, then settled
    assert 2 <= today_reads <= yesterday_reads, per_node_date
    # the upstream node: each date read once, then settled (every instance finished, none failed)
    assert per_node_date[(str(UPSTREAM), str(TODAY_BIZ))] == 1
    assert per_node_date[(str(UPSTREAM), str(YESTERDAY_BIZ))] == 1
    assert [len(e) for e in run.events] == [1, 1, 1, 1, 1, 0]


@pytest.mark.usefixtures("dataworks_conn")
async def test_throttling_and_a_server_error_cost_a_cycle_not_an_event(emulator: DataWorksEmulator) -> None:
    today = emulator.instance_of(RELEASE, T)
    run = Running(watcher())
    try:
        await cycles(run, 1)
        emulator.inject_fault("ListTaskInstances", kind="server_error", times=4)
        emulator.clock.advance(timedelta(minutes=1))
        emulator.set_instance_status(today.id, "Success")
        await run.until(lambda: len(run.events[0]) == 1)
        await cycles(run, 2)
    finally:
        await run.stop()
    assert [e["instance_id"] for e in run.events[0]] == [today.id]


def test_serialize_round_trip() -> None:
    from airflow.triggers.base import BaseEventTrigger

    from airflow_provider_dataworks.triggers.asset_watcher import DataWorksInstanceSucceededTrigger

    trigger = DataWorksInstanceSucceededTrigger(
        dataworks_task_id=700001,
        dataworks_conn_id="dw",
        env_type="Dev",
        project_id=1001,
        workflow_instance_types=["SupplementData", "Normal"],
        poll_interval=30,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_dataworks.triggers.asset_watcher.DataWorksInstanceSucceededTrigger"
    again = DataWorksInstanceSucceededTrigger(**kwargs)
    assert again.serialize() == (classpath, kwargs)
    assert kwargs["workflow_instance_types"] == ["Normal", "SupplementData"]  # sorted: one hash for one meaning
    assert BaseEventTrigger.hash(classpath, kwargs) == BaseEventTrigger.hash(*again.serialize())
    assert again.state_key == "dataworks_watch.dw.1001.Dev.700001.Normal+SupplementData"
    quicker = DataWorksInstanceSucceededTrigger(**{**kwargs, "poll_interval": 10})
    assert quicker.state_key == again.state_key  # a new interval keeps the record


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dataworks_task_id": "orders"}, "not a number"),
        ({"dataworks_task_id": 1, "env_type": "prod"}, "'Prod'"),
        ({"dataworks_task_id": 1, "workflow_instance_types": ["Backfill"]}, "SupplementData"),
        ({"dataworks_task_id": 1, "poll_interval": 0.5}, "at least 1 s"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, Any], message: str) -> None:
    from airflow_provider_dataworks.exceptions import DataWorksConfigError
    from airflow_provider_dataworks.triggers.asset_watcher import DataWorksInstanceSucceededTrigger

    with pytest.raises(DataWorksConfigError, match=message):
        DataWorksInstanceSucceededTrigger(**kwargs)


# ------------------------------------------------------------------------------------------- calls per cycle
NODES_WS, FIRST_NODE = 2002, 900000


@contextmanager
def nodes_emulator(n: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[DataWorksEmulator, list[int]]]:
    """``n`` daily nodes of one workspace, all running at 2026-11-25 00:31 (they take an hour)."""
    with DataWorksEmulator() as emu:
        ws = emu.add_workspace(NODES_WS, "cn-hangzhou")
        nodes = [FIRST_NODE + k for k in range(n)]
        for node in nodes:
            emu.add_task(ws, node, f"load_{node}", cron="30 0 * * *", duration=timedelta(hours=1))
        emu.clock.freeze(SHANGHAI_0030 + timedelta(minutes=1))
        monkeypatch.setenv("AIRFLOW_CONN_DATAWORKS_DEFAULT", connection_json(emu, project_id=NODES_WS, qps=1000))
        follow_clock(emu, monkeypatch)
        yield emu, nodes


class Cycles:
    """Each watcher's poll cycles as it schedules them (``waiting.next_cycle``, wrapped), and the listings each cycle
    made (``DataWorksHook.alist_instances``, wrapped: a shared listing counts in the cycle of the watcher that asked
    first). A watcher schedules cycle k + 1 once the work of cycle k is done, so "every watcher scheduled cycle k + 1"
    is a barrier after which the listings of cycle k are all counted, however slow the machine."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from airflow_provider_dataworks.domain import waiting
        from airflow_provider_dataworks.hooks.dataworks import DataWorksHook

        self.scheduled: dict[Any, int] = {}  # watcher (its asyncio task) -> cycles scheduled
        self.listings: Counter[tuple[Any, int]] = Counter()  # (watcher, its cycle) -> ListTaskInstances calls
        self.reported_in: dict[Any, int] = {}  # watcher -> the cycle of its last event
        cycle: contextvars.ContextVar[tuple[Any, int]] = contextvars.ContextVar("cycle")
        next_cycle, alist_instances = waiting.next_cycle, DataWorksHook.alist_instances

        def scheduling(due: float, poll_interval: float) -> float:
            task = asyncio.current_task()
            self.scheduled[task] = self.scheduled.get(task, 0) + 1
            cycle.set((task, self.scheduled[task]))
            return next_cycle(due, poll_interval)

        async def listing(hook: Any, *args: Any, **kwargs: Any) -> Any:
            self.listings[cycle.get()] += 1
            return await alist_instances(hook, *args, **kwargs)

        monkeypatch.setattr(waiting, "next_cycle", scheduling)
        monkeypatch.setattr(DataWorksHook, "alist_instances", listing)

    def reported(self) -> None:
        """Note the cycle of the watcher that hands out an event (``Running(on_event=...)``)."""
        self.reported_in[asyncio.current_task()] = self.scheduled[asyncio.current_task()]

    async def done(self, run: Running, after: dict[Any, int], n: int) -> None:
        """Until every watcher of ``run`` has done ``n`` cycles after its cycle ``after[watcher]`` (a limit of 30 s
        a cycle)."""
        scheduled = self.scheduled
        await run.until(
            lambda: all(scheduled.get(w, 0) >= after.get(w, 0) + n + 1 for w in run.tasks), timeout=30.0 * (n + 1)
        )

    def per_cycle(self, run: Running, after: dict[Any, int], n: int) -> float:
        """Listings of the watchers of ``run`` in their ``n`` cycles after ``after[watcher]``, per cycle."""
        ks = {w: range(after.get(w, 0) + 1, after.get(w, 0) + n + 1) for w in run.tasks}
        return sum(c for (w, k), c in self.listings.items() if k in ks.get(w, ())) / n


#: Cycles each figure is measured over.
MEASURED_CYCLES = 2


async def measure(emu: DataWorksEmulator, nodes: list[int], cycles: Cycles) -> dict[str, Any]:
    """Calls in the first cycle, in steady cycles while the day's instances run, and after they all succeeded: per
    watcher cycle (counted by cycle, not by second, so a slow machine that skips cycles changes nothing)."""
    run = Running(*(watcher(dataworks_task_id=n) for n in nodes), on_event=cycles.reported)
    n = len(nodes)
    try:
        await cycles.done(run, {}, 1 + MEASURED_CYCLES)  # the first cycle, then steady ones
        first = cycles.per_cycle(run, {}, 1)
        steady = cycles.per_cycle(run, dict.fromkeys(run.tasks, 1), MEASURED_CYCLES)
        emu.clock.advance(timedelta(hours=2))  # every instance succeeds
        await run.until(lambda: all(len(e) == 1 for e in run.events), timeout=60)
        # each watcher's cycles after the one that reported its instance: nothing left to read
        await cycles.done(run, cycles.reported_in, MEASURED_CYCLES)
        after = cycles.per_cycle(run, cycles.reported_in, MEASURED_CYCLES)
    finally:
        await run.stop()
    assert all(len(e) == 1 for e in run.events)
    return {"nodes": n, "first_cycle": first, "per_cycle_running": steady, "per_cycle_all_succeeded": after}


async def test_calls_per_cycle_for_1_and_100_watched_nodes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], watched_cycles: Cycles
) -> None:
    """Figures (printed): ListTaskInstances per watcher cycle (1-second cycles), counted cycle by cycle."""
    figures = []
    for n in (1, 100):
        with monkeypatch.context() as patched, nodes_emulator(n, patched) as (emu, nodes):
            figures.append(await measure(emu, nodes, watched_cycles))
    with capsys.disabled():
        for f in figures:
            print(
                f"\n{f['nodes']:>3} watched node(s): first cycle {f['first_cycle']:.0f} ListTaskInstances "
                f"(2 business dates each); while the day's instances run {f['per_cycle_running']:.1f} a cycle; "
                f"once all succeeded {f['per_cycle_all_succeeded']:.1f} a cycle"
            )
    one, many = figures
    assert one["first_cycle"] == 2 and 2 * 100 <= many["first_cycle"] <= 2 * 100 + 10
    assert one["per_cycle_running"] <= 1.5 and many["per_cycle_running"] <= 100 * 1.5
    assert one["per_cycle_all_succeeded"] == 0 and many["per_cycle_all_succeeded"] == 0


async def test_the_variable_store_speaks_the_triggerers_messages() -> None:
    """Airflow 3.0-3.2 (no asset state store): the record is a Variable, read and written with the supervisor's
    GetVariable/PutVariable messages (the real message classes; the supervisor is a stand-in answering as the
    triggerer's does: a VariableResult, or an ErrorResponse for a missing key)."""
    from airflow.sdk.execution_time.comms import ErrorResponse, GetVariable, PutVariable, VariableResult

    from airflow_provider_dataworks.triggers.asset_watcher import VariableStore

    class Supervisor:
        def __init__(self) -> None:
            self.variables: dict[str, str] = {}

        async def asend(self, msg: Any) -> Any:
            if isinstance(msg, GetVariable):
                if msg.key not in self.variables:
                    return ErrorResponse(detail={"key": msg.key})
                return VariableResult(key=msg.key, value=self.variables[msg.key])
            assert isinstance(msg, PutVariable) and msg.description
            self.variables[msg.key] = str(msg.value)
            return None

    supervisor = Supervisor()
    store = VariableStore(supervisor, "dataworks_watch.x")
    assert await store.aget() is None
    await store.aset({"v": 1, "since_ms": 5, "reported": {"7": [1, 2]}})
    assert await VariableStore(supervisor, "dataworks_watch.x").aget() == {
        "v": 1,
        "since_ms": 5,
        "reported": {"7": [1, 2]},
    }


def test_the_ledger_merges_the_records_of_several_assets() -> None:
    from airflow_provider_dataworks.triggers.asset_watcher import SucceededLedger

    merged = SucceededLedger.merged(
        [{"since_ms": 9, "reported": {"1": [3]}}, {}, {"since_ms": 4, "reported": {"1": [5], "2": [6]}}]
    )
    assert merged is not None and merged.to_json() == {"v": 1, "since_ms": 4, "reported": {"1": [3, 5], "2": [6]}}
    assert SucceededLedger.merged([{}, {}]) is None


@pytest.mark.usefixtures("dataworks_conn")
async def test_a_used_up_daily_quota_pauses_the_watcher_until_it_resets(
    emulator: DataWorksEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The third listing is refused for the day's quota: the watcher sleeps until the reset (the connection's
    default, 00:00 Asia/Shanghai, hours away, + the margin), calling nothing meanwhile, and does not end. Checked on
    what it scheduled (its next cycle is the reset's), not by watching a few seconds pass."""
    from airflow_provider_dataworks.domain import waiting
    from airflow_provider_dataworks.domain.api_limits import parse_reset

    scheduled: list[float] = []  # the cycles the watcher scheduled (epoch s)
    next_cycle = waiting.next_cycle

    def scheduling(due: float, poll_interval: float) -> float:
        scheduled.append(next_cycle(due, poll_interval))
        return scheduled[-1]

    monkeypatch.setattr(waiting, "next_cycle", scheduling)
    emulator.load_spec({"quota": {"daily": 2}})
    before = time.time()
    run = Running(watcher())
    try:
        await run.until(lambda: any(c.error_code for c in lists(emulator)))
        refused = len(emulator.calls)
        after = time.time()
        resets = {
            parse_reset(None).resume_at(datetime.fromtimestamp(t, timezone.utc)).timestamp() for t in (before, after)
        }
        await run.until(lambda: bool(scheduled) and scheduled[-1] >= min(resets))  # asleep until the reset
        assert scheduled[-1] in resets
        assert all(not task.done() for task in run.tasks)
    finally:
        await run.stop()
    assert len(emulator.calls) == refused
    assert [c.error_code for c in lists(emulator)] == [None, None, "Throttling.Api.Risk"]
