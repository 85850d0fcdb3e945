"""DataWorksInstanceSucceededTrigger: an Airflow 3 asset watcher that fires once per succeeded instance of a node.

DataWorks upstream, Airflow downstream: a DataWorks node produces a table each day, a DAG consumes it::

    orders = Asset("dataworks://1001/700001", watchers=[AssetWatcher(
        name="orders_ready", trigger=DataWorksInstanceSucceededTrigger(dataworks_task_id=700001))])
    with DAG("consume_orders", schedule=[orders]): ...

Each instance of the node that reaches ``Success`` fires one ``TriggerEvent`` (:func:`event_payload`); Airflow
turns it into one asset event whose ``extra["payload"]`` the consuming run reads from ``triggering_asset_events``.
Only the daily schedule's instances (``WorkflowInstanceType=Normal``) unless ``workflow_instance_types`` opts in
others (``SupplementData``, ``Manual``, ``SmokeTest``...).

**Calls.** One ``ListTaskInstances(TaskId, Bizdate)`` per node and business date read, shared by every watcher of
the node in the triggerer (``shared_polling.py``), on the shared cycles (multiples of ``poll_interval``). The dates
read are those of the instances scheduled today and yesterday in the scheduling zone (business dates T-1 and T-2:
an instance of yesterday can succeed today). A date is read every cycle only while it has an unfinished instance
whose time has come; a date whose unfinished instances are all due later sleeps until the earliest of them; a date
with nothing left to report (every instance finished, none failed: Normal instances only) is not read again; any
other finished date (a failure that a rerun may turn into a success, no instances yet, or other workflow types
whose runs can appear at any time) is read every ``quiet_poll_interval``. Throttling and passing failures back off
(``PollPacer``), a used-up daily quota sleeps until it resets; the watcher never ends on an error.

**Exactly once across restarts.** What was reported lives outside the trigger (its kwargs cannot change): a small
JSON record (:class:`SucceededLedger`: when watching began, and the ids reported per business date in the window),
read when ``run()`` starts and written after each event:

* Airflow 3.3+: the watched asset's state store (``self.asset_state_store``, the ``asset_state_store`` table,
  through the triggerer's supervisor and the execution API), key :meth:`~DataWorksInstanceSucceededTrigger.state_key`;
* Airflow 3.0-3.2: an Airflow Variable of that name (``GetVariable``/``PutVariable``, the messages those triggerers
  may send to their supervisor);
* elsewhere (a trigger driven by hand, ``dag.test()``): this process's memory only.

The record is written after the event left the trigger: a triggerer killed in the second or so before the write
reaches the database may repeat that one event at restart, never lose one. The payload carries the instance id for
a consumer that must dedupe even that.

Nothing blocks the event loop: the hook's async calls, ``asyncio.sleep``, the supervisor's async ``asend``. The
module imports no SDK and no hook at import (a DAG file defining the asset imports it).

Metrics (``hooks/metrics.py``): ``dataworks.watcher.events``, one per event fired, and each sleep through a used-up
quota; its calls are counted by the hook.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_dataworks.domain.api_records import TaskInstance, TaskInstanceStatus, WorkflowInstanceType
from airflow_provider_dataworks.domain.arguments import check_env_type, check_id, check_seconds
from airflow_provider_dataworks.exceptions import DataWorksApiError, DataWorksConfigError, DataWorksError

# A DAG file that defines the asset imports this module: the time arithmetic, the pacing and the hook load in run().
if TYPE_CHECKING:
    from airflow.triggers.base import BaseEventTrigger

    from airflow_provider_dataworks.domain.waiting import PollPacer
else:
    try:  # Airflow 3.0+
        from airflow.triggers.base import BaseEventTrigger
    except ImportError:  # Airflow 2: no event-driven scheduling; the class refuses to be built
        BaseEventTrigger = BaseTrigger

#: Default seconds between reads of a date with an unfinished instance, and the least allowed (as the operator's).
DEFAULT_POLL_INTERVAL = 60.0
MIN_POLL_INTERVAL = 1.0
#: Default seconds between reads of a finished date that may still change (a rerun, a backfill).
DEFAULT_QUIET_POLL_INTERVAL = 900.0
#: Business dates kept in the record: those of the instances scheduled today and yesterday.
WINDOW_DAYS = 2
#: The ``kind`` of the event payload (a consumer can check it).
EVENT_KIND = "dataworks_instance_succeeded"


def dataworks_now_ms() -> int:
    """Now, epoch ms: which business dates are today's, and when watching began (tests move it with the emulator)."""
    return int(time.time() * 1000)


def window_bizdates(now_ms: int, zone: str, days: int = WINDOW_DAYS) -> list[int]:
    """The business dates (epoch ms of 00:00 in ``zone``) of the instances scheduled today, yesterday...: T-1, T-2."""
    from airflow_provider_dataworks.domain.timing import in_zone, to_epoch_ms

    today = in_zone(now_ms, zone).date()
    return [
        to_epoch_ms(datetime.combine(today - timedelta(days=1 + k), datetime.min.time(), ZoneInfo(zone)))
        for k in range(days)
    ]


def event_payload(inst: TaskInstance, zone: str) -> dict[str, Any]:
    """The event of one succeeded instance: plain JSON (Airflow stores it as the asset event's ``extra["payload"]``)."""
    from airflow_provider_dataworks.domain.timing import format_in_zone, in_zone

    bizdate = in_zone(inst.bizdate_ms, zone).date().isoformat() if inst.bizdate_ms is not None else None
    return {
        "kind": EVENT_KIND,
        "instance_id": inst.id,
        "status": inst.status.value,
        "bizdate": bizdate,
        "bizdate_ms": inst.bizdate_ms,
        "scheduled_time": format_in_zone(inst.trigger_time_ms, zone) if inst.trigger_time_ms else None,
        "trigger_time_ms": inst.trigger_time_ms,
        "finished_time_ms": inst.finished_ms,
        "node_id": inst.task_id,
        "node_name": inst.task_name,
        "workflow_instance_id": inst.workflow_instance_id,
        "workflow_instance_type": (inst.workflow_instance_type or WorkflowInstanceType.NORMAL).value,
        "project_id": inst.project_id,
        "env_type": inst.env_type,
        "run_number": inst.run_number,
    }


@dataclass
class SucceededLedger:
    """What a watcher has reported (pure; persisted as :meth:`to_json`) and when each date is next worth a read.

    ``since_ms``: when watching began; an instance that finished before is never reported (a new watcher does not
    replay the past). ``reported``: business date -> the instance ids reported, for the dates in the window.
    """

    since_ms: int
    reported: dict[int, set[int]] = field(default_factory=dict)
    #: business date -> epoch s before which it need not be read (not persisted: a restart reads every date once)
    next_read: dict[int, float] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SucceededLedger:
        return cls(
            since_ms=int(data["since_ms"]),
            reported={int(day): {int(i) for i in ids} for day, ids in (data.get("reported") or {}).items()},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "v": 1,
            "since_ms": self.since_ms,
            "reported": {str(day): sorted(ids) for day, ids in sorted(self.reported.items())},
        }

    @classmethod
    def merged(cls, records: Iterable[Mapping[str, Any]]) -> SucceededLedger | None:
        """One ledger from the records of several stores (a trigger watching several assets): the earliest start,
        every id reported anywhere. None when there is none."""
        ledgers = [cls.from_json(r) for r in records if r]
        if not ledgers:
            return None
        merged = cls(since_ms=min(ledger.since_ms for ledger in ledgers))
        for ledger in ledgers:
            for day, ids in ledger.reported.items():
                merged.reported.setdefault(day, set()).update(ids)
        return merged

    def due(self, window: Sequence[int], now_s: float) -> list[int]:
        """The dates of ``window`` worth reading now; forgets the dates that left it."""
        for day in [d for d in self.reported if d not in window]:
            del self.reported[day]
        for day in [d for d in self.next_read if d not in window]:
            del self.next_read[day]
        return [day for day in window if self.next_read.get(day, 0.0) <= now_s]

    def new_successes(
        self, day: int, instances: Iterable[TaskInstance], task_id: int, types: frozenset[str]
    ) -> list[TaskInstance]:
        """The instances of ``day`` to report now, by finishing time: succeeded, of ``task_id`` and ``types``, not
        reported before, finished since watching began."""
        done = self.reported.get(day, set())
        found = [
            i
            for i in _mine(instances, task_id, types)
            if i.status == TaskInstanceStatus.SUCCESS
            and i.id not in done
            and (i.finished_ms is None or i.finished_ms >= self.since_ms)
        ]
        return sorted(found, key=lambda i: (i.finished_ms or 0, i.id))

    def record(self, day: int, instance_id: int) -> None:
        self.reported.setdefault(day, set()).add(instance_id)

    def schedule(
        self,
        day: int,
        instances: Iterable[TaskInstance],
        task_id: int,
        types: frozenset[str],
        *,
        now_ms: int,
        now_s: float,
        quiet_interval: float,
    ) -> str:
        """Set when ``day`` is next worth a read after a listing of it (everything in it reported); say why."""
        mine = _mine(instances, task_id, types)
        unfinished = [i for i in mine if not i.status.is_terminal]
        if unfinished:
            due_ms = [i.trigger_time_ms for i in unfinished]
            if all(t is not None and t > now_ms for t in due_ms):
                earliest = min(t for t in due_ms if t is not None)
                self.next_read[day] = now_s + (earliest - now_ms) / 1000.0
                return "unfinished, not due yet"
            self.next_read[day] = 0.0
            return "unfinished"
        failed = any(i.status == TaskInstanceStatus.FAILURE for i in mine)
        if mine and not failed and types == {WorkflowInstanceType.NORMAL.value}:
            self.next_read[day] = float("inf")  # every scheduled instance succeeded and was handled
            return "settled"
        self.next_read[day] = now_s + quiet_interval
        return "quiet"


def _mine(instances: Iterable[TaskInstance], task_id: int, types: frozenset[str]) -> list[TaskInstance]:
    return [
        i
        for i in instances
        if i.task_id == task_id and (i.workflow_instance_type or WorkflowInstanceType.NORMAL).value in types
    ]


class StateStore(Protocol):
    """Where a watcher keeps its :class:`SucceededLedger` record between runs."""

    where: str

    async def aget(self) -> Mapping[str, Any] | None: ...

    async def aset(self, record: Mapping[str, Any]) -> None: ...


class MemoryStore:
    """This process only (no triggerer to keep state with): a restart replays nothing and loses what finished
    while nothing watched."""

    where = "this process's memory (not kept across a restart)"

    def __init__(self) -> None:
        self.record: Mapping[str, Any] | None = None

    async def aget(self) -> Mapping[str, Any] | None:
        return self.record

    async def aset(self, record: Mapping[str, Any]) -> None:
        self.record = dict(record)


class AssetStateStore:
    """Airflow 3.3+: the state store of the asset(s) the trigger watches (``BaseEventTrigger.asset_state_store``,
    the ``asset_state_store`` table), written to each watched asset, read merged."""

    def __init__(self, accessors: Any, key: str) -> None:
        self.accessors, self.key = accessors, key
        self.where = f"the watched asset's state store, key {key!r}"

    def _each(self) -> list[Any]:
        found = list(getattr(self.accessors, "_by_name", {}).values()) + list(
            getattr(self.accessors, "_by_uri", {}).values()
        )
        return found or [self.accessors]

    async def aget(self) -> Mapping[str, Any] | None:
        records = [await accessor.aget(self.key) for accessor in self._each()]
        merged = SucceededLedger.merged(r for r in records if isinstance(r, Mapping))
        return merged.to_json() if merged else None

    async def aset(self, record: Mapping[str, Any]) -> None:
        for accessor in self._each():
            await accessor.aset(self.key, dict(record))


class VariableStore:
    """Airflow 3.0-3.2 triggerers: an Airflow Variable, through the supervisor's async ``asend``."""

    def __init__(self, comms: Any, key: str) -> None:
        self.comms, self.key = comms, key
        self.where = f"the Airflow Variable {key!r}"

    async def aget(self) -> Mapping[str, Any] | None:
        import json

        from airflow.sdk.execution_time.comms import GetVariable

        answer = await self.comms.asend(GetVariable(key=self.key))
        value = getattr(answer, "value", None)  # an ErrorResponse (not found) has none
        if not value:
            return None
        record = json.loads(value) if isinstance(value, str) else value
        return record if isinstance(record, Mapping) else None

    async def aset(self, record: Mapping[str, Any]) -> None:
        import json

        from airflow.sdk.execution_time.comms import PutVariable

        description = "What a DataWorks asset watcher reported (airflow-provider-dataworks); do not edit."
        await self.comms.asend(PutVariable(key=self.key, value=json.dumps(record), description=description))


class DataWorksInstanceSucceededTrigger(BaseEventTrigger):
    """Fire one event per instance of a DataWorks node that reaches ``Success`` (Airflow 3 asset watcher).

    :param dataworks_task_id: the node (task) id.
    :param dataworks_conn_id: the connection to poll with.
    :param env_type: ``Prod`` or ``Dev`` (default: the connection's).
    :param project_id: the workspace (default: the connection's ``project_id``).
    :param workflow_instance_types: the ``WorkflowInstanceType`` s to report (default only ``Normal``, the daily
        schedule); add ``SupplementData`` (backfills), ``Manual``, ``ManualWorkflow``, ``SmokeTest``... to report
        their runs too.
    :param poll_interval: seconds between reads of a date with an unfinished instance (at least 1 s).
    :param quiet_poll_interval: seconds between reads of a finished date that may still change (default 900 s, or
        ``poll_interval`` if longer).
    :param shared: share each read with the other watchers of the node in the triggerer (default True).
    """

    def __init__(
        self,
        *,
        dataworks_task_id: int,
        dataworks_conn_id: str = "dataworks_default",
        env_type: str | None = None,
        project_id: int | None = None,
        workflow_instance_types: Sequence[str] = (WorkflowInstanceType.NORMAL.value,),
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        quiet_poll_interval: float | None = None,
        shared: bool = True,
    ) -> None:
        if BaseEventTrigger is BaseTrigger:
            raise DataWorksConfigError(
                "DataWorksInstanceSucceededTrigger is an asset watcher: it needs Airflow 3.0+ (BaseEventTrigger)."
            )
        super().__init__()
        task_id = check_id(dataworks_task_id, "dataworks_task_id")
        if not isinstance(task_id, int):
            raise DataWorksConfigError(f"dataworks_task_id={dataworks_task_id!r} must be a number (no template).")
        self.dataworks_task_id = task_id
        self.dataworks_conn_id = dataworks_conn_id
        self.env_type = check_env_type(env_type)
        checked_project = check_id(project_id, "project_id") if project_id is not None else None
        self.project_id = int(checked_project) if checked_project is not None else None
        known = {t.value for t in WorkflowInstanceType}
        types = sorted(
            {
                str(t)
                for t in (
                    [workflow_instance_types] if isinstance(workflow_instance_types, str) else workflow_instance_types
                )
            }
        )
        if not types or set(types) - known:
            raise DataWorksConfigError(
                f"workflow_instance_types={workflow_instance_types!r}: give one or more of {', '.join(sorted(known))}."
            )
        self.workflow_instance_types = types
        self.poll_interval = check_seconds(poll_interval, "poll_interval", minimum=MIN_POLL_INTERVAL) or 0.0
        quiet = (
            max(DEFAULT_QUIET_POLL_INTERVAL, self.poll_interval) if quiet_poll_interval is None else quiet_poll_interval
        )
        self.quiet_poll_interval = check_seconds(quiet, "quiet_poll_interval", minimum=self.poll_interval) or 0.0
        self.shared = bool(shared)
        #: where the record lives; chosen in run() unless set (tests)
        self.state_store: StateStore | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "dataworks_task_id": self.dataworks_task_id,
                "dataworks_conn_id": self.dataworks_conn_id,
                "env_type": self.env_type,
                "project_id": self.project_id,
                "workflow_instance_types": list(self.workflow_instance_types),
                "poll_interval": self.poll_interval,
                "quiet_poll_interval": self.quiet_poll_interval,
                "shared": self.shared,
            },
        )

    @property
    def state_key(self) -> str:
        """The record's key: what is watched, not how often (a new poll interval keeps the record)."""
        types = "+".join(self.workflow_instance_types)
        return (
            f"dataworks_watch.{self.dataworks_conn_id}.{self.project_id or 'conn'}.{self.env_type or 'conn'}."
            f"{self.dataworks_task_id}.{types}"
        )

    @property
    def _types(self) -> frozenset[str]:
        return frozenset(self.workflow_instance_types)

    def _choose_store(self) -> StateStore:
        if self.state_store is not None:
            return self.state_store
        accessors = getattr(self, "asset_state_store", None)
        if accessors is not None:  # Airflow 3.3+, injected by the triggerer before run()
            return AssetStateStore(accessors, self.state_key)
        try:
            from airflow.sdk.execution_time import task_runner

            comms = getattr(task_runner, "SUPERVISOR_COMMS", None)
        except ImportError:
            comms = None
        if comms is not None and hasattr(comms, "asend") and type(comms).__name__ == "TriggerCommsDecoder":
            return VariableStore(comms, self.state_key)
        return MemoryStore()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_provider_dataworks.domain.waiting import PollPacer, next_cycle
        from airflow_provider_dataworks.hooks.dataworks import DataWorksHook

        hook = DataWorksHook(dataworks_conn_id=self.dataworks_conn_id)
        store = self.state_store = self._choose_store()
        pacer = PollPacer(self.poll_interval, self.quiet_poll_interval)
        ledger: SucceededLedger | None = None
        settings: Any = None
        due = time.time()
        while True:
            due = next_cycle(max(due, time.time()), self.poll_interval) if self.shared else max(due, time.time())
            await asyncio.sleep(max(0.0, due - time.time()))
            try:
                if settings is None:
                    settings = await hook.aget_settings()
                if ledger is None:
                    ledger = await self._load(store)
                async for event in self._report_due_days(hook, store, ledger, settings):
                    yield event
                pacer = PollPacer(self.poll_interval, self.quiet_poll_interval)  # the next failure backs off afresh
                due += self.poll_interval
            except DataWorksApiError as err:
                if err.daily_quota:
                    due = await self._sleep_through_quota(hook, err)
                    continue
                due = time.time() + self._pause_after_failure(pacer, err)
            except DataWorksError as err:  # the connection, the workspace: a fix is a deploy away; keep trying
                self.log.error("DataWorks watcher of node %s: %s", self.dataworks_task_id, err)
                due = time.time() + self.quiet_poll_interval

    async def _report_due_days(
        self, hook: Any, store: StateStore, ledger: SucceededLedger, settings: Any
    ) -> AsyncIterator[TriggerEvent]:
        """One cycle: list each business date that is due (1 ListTaskInstances each, shared), report its new
        successes (the record written after each event) and schedule its next read."""
        from airflow_provider_dataworks.domain.timing import in_zone
        from airflow_provider_dataworks.hooks import metrics
        from airflow_provider_dataworks.triggers.shared_polling import shared_polling

        project_id = self.project_id or settings.project_id
        if project_id is None:
            raise DataWorksConfigError(
                f"Set project_id on the watcher of node {self.dataworks_task_id} or the connection "
                f"{self.dataworks_conn_id!r}'s 'project_id' extra: ListTaskInstances needs the workspace."
            )
        zone = settings.timezone
        now_ms = dataworks_now_ms()
        for day in ledger.due(window_bizdates(now_ms, zone), time.time()):
            listed = await self._list(hook, shared_polling() if self.shared else None, project_id, day)
            for inst in ledger.new_successes(day, listed, self.dataworks_task_id, self._types):
                bizdate = in_zone(day, zone).date()
                self.log.info(
                    "DataWorks node %s: instance %s (business date %s) succeeded.",
                    self.dataworks_task_id,
                    inst.id,
                    bizdate,
                )
                ledger.record(day, inst.id)
                payload = event_payload(inst, zone)
                metrics.watcher_event(self.dataworks_conn_id, payload["workflow_instance_type"])
                yield TriggerEvent(payload)
                await self._save(store, ledger)
            ledger.schedule(
                day,
                listed,
                self.dataworks_task_id,
                self._types,
                now_ms=now_ms,
                now_s=time.time(),
                quiet_interval=self.quiet_poll_interval,
            )

    async def _save(self, store: StateStore, ledger: SucceededLedger) -> None:
        """Write the record; a failed write is logged and made good by the next one (until then a restart may
        repeat what it missed)."""
        try:
            await store.aset(ledger.to_json())
        except Exception as err:
            self.log.warning(
                "DataWorks watcher of node %s: could not write %s (%s).", self.dataworks_task_id, store.where, err
            )

    async def _load(self, store: StateStore) -> SucceededLedger:
        """The record of what was reported; a first start begins it now (and writes it, so a restart before any
        event still knows when watching began)."""
        try:
            record = await store.aget()
        except Exception as err:  # the supervisor or the API server did not answer: try again next cycle
            raise DataWorksError(f"could not read {store.where} ({err})") from err
        if record:
            ledger = SucceededLedger.from_json(record)
            self.log.info(
                "DataWorks watcher of node %s resumes from %s (%d instances reported in the window).",
                self.dataworks_task_id,
                store.where,
                sum(len(ids) for ids in ledger.reported.values()),
            )
            return ledger
        ledger = SucceededLedger(since_ms=dataworks_now_ms())
        await store.aset(ledger.to_json())
        self.log.info(
            "DataWorks watcher of node %s starts; it keeps what it reported in %s.", self.dataworks_task_id, store.where
        )
        return ledger

    async def _list(self, hook: Any, shared: Any, project_id: int, day: int) -> list[TaskInstance]:
        only = self.workflow_instance_types[0] if len(self.workflow_instance_types) == 1 else None
        if shared is not None:
            found: list[TaskInstance] = await shared.node_day(
                hook, project_id, day, self.dataworks_task_id, self.env_type, only
            )
            return found
        if only is None:
            return await hook.alist_instances(project_id, day, task_id=self.dataworks_task_id, env_type=self.env_type)
        return await hook.alist_instances(
            project_id, day, task_id=self.dataworks_task_id, env_type=self.env_type, workflow_instance_type=only
        )

    def _pause_after_failure(self, pacer: PollPacer, err: DataWorksApiError) -> float:
        """Seconds to the next cycle after a failed one: the waits' back-off; past it (or a lasting cause), the
        longest pause, and the watcher keeps watching (an asset watcher never ends)."""
        try:
            pause = pacer.after_failure(err)
            self.log.warning(
                "DataWorks watcher of node %s: poll failed (%s); again in %.0f s", self.dataworks_task_id, err, pause
            )
        except DataWorksApiError:
            pause = self.quiet_poll_interval
            self.log.error(
                "DataWorks watcher of node %s: poll failed (%s); again in %.0f s", self.dataworks_task_id, err, pause
            )
        return pause

    async def _sleep_through_quota(self, hook: Any, err: DataWorksApiError) -> float:
        """The daily quota is used up: epoch seconds when it resets (the next read is then)."""
        from airflow_provider_dataworks.hooks import metrics
        from airflow_provider_dataworks.triggers.quota_reset import refused_in_quota_day_of, whose_quota

        settings = await hook.aget_settings()
        resume = settings.daily_quota_reset.resume_at(refused_in_quota_day_of(err))
        metrics.quota_sleep(settings.conn_id, "watcher")
        self.log.warning(
            "DataWorks watcher of node %s: %s used up (%s); reading again at %s.",
            self.dataworks_task_id,
            whose_quota(settings),
            err.code,
            resume.isoformat(),
        )
        return float(resume.timestamp())
