"""Deferred waits of one triggerer process served together, so N waits do not cost N calls per poll.

* **Instances** — a wait that knows its instance's workspace and business date reads the instance
  through :class:`SharedReads`: requests for the same (connection, workspace, business date) that arrive
  within ``window`` seconds of the first are answered by one ``ListTaskInstances(Ids=[...])`` call per
  500 instances (a batch of 500 goes at once). Shared waits poll on shared cycles (the multiples of their
  poll interval since the epoch, ``waiting.next_cycle``), so waits of one interval stay in step however
  many there are: N such waits cost ceil(N / 500) calls per cycle instead of N. A wait whose workspace or
  business date is unknown calls ``GetTaskInstance`` itself.
* **Downstream and workflow** — DataWorks has no batch read of several instances' downstream or of
  several workflow instances, so only identical requests are shared: waits on the same instance's
  downstream, or on the same workflow instance, in the same window make one call.

* **Watched nodes** — the asset watchers of one node (``asset_watcher.py``) read its instances of a business
  date with :meth:`SharedPolling.node_day`: one ``ListTaskInstances(TaskId=..., Bizdate=...)`` for every watcher of
  that (connection, workspace, node, business date, environment, workflow instance type) in the window, so N
  watchers of one node cost what one does.

An instance missing from the listing (moved to another business date by a rerun, say) is read with
``GetTaskInstance``. An error of the shared call reaches every wait that shared it.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from airflow_provider_dataworks.domain.api_records import TaskInstance

#: ListTaskInstances returns at most 500 rows per page.
IDS_PER_CALL = 500
#: Seconds a shared call waits for more requests after the first one (waits in step arrive within it).
DEFAULT_WINDOW = 0.5


class _Batch:
    def __init__(self) -> None:
        self.ids: set[int] = set()
        self.full = asyncio.Event()  # one call's worth of ids: no reason to wait out the window
        self.result: asyncio.Future[dict[int, TaskInstance]] = asyncio.get_running_loop().create_future()


class SharedPolling:
    """The process' shared calls on one event loop (the triggerer has one); see :func:`shared_polling`."""

    def __init__(self, window: float = DEFAULT_WINDOW) -> None:
        self.window = window
        self._batches: dict[Hashable, _Batch] = {}
        self._in_flight: dict[Hashable, asyncio.Future[Any]] = {}

    async def instance(
        self, hook: Any, project_id: int, bizdate_ms: int, env_type: str | None, instance_id: int
    ) -> TaskInstance:
        """``instance_id`` read by the shared ListTaskInstances of its workspace, business date and env."""
        key = (hook.dataworks_conn_id, project_id, bizdate_ms, env_type)
        batch = self._batches.get(key)
        if batch is None:
            batch = self._batches[key] = _Batch()
            asyncio.get_running_loop().create_task(self._flush(key, batch, hook, project_id, bizdate_ms, env_type))
        batch.ids.add(instance_id)
        if len(batch.ids) >= IDS_PER_CALL:
            del self._batches[key]  # later requests start the next batch
            batch.full.set()
        found = await asyncio.shield(batch.result)
        if instance_id in found:
            return found[instance_id]
        return await hook.aget_instance(instance_id)

    async def _flush(
        self, key: Hashable, batch: _Batch, hook: Any, project_id: int, bizdate_ms: int, env_type: str | None
    ) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(batch.full.wait(), self.window)
        if self._batches.get(key) is batch:
            del self._batches[key]  # later requests start the next batch
        ids = sorted(batch.ids)
        try:
            found: dict[int, TaskInstance] = {}
            for start in range(0, len(ids), IDS_PER_CALL):
                chunk = ids[start : start + IDS_PER_CALL]
                listed = await hook.alist_instances(project_id, bizdate_ms, ids=chunk, env_type=env_type)
                found.update((i.id, i) for i in listed)
            batch.result.set_result(found)
        except Exception as err:
            batch.result.set_exception(err)

    async def node_day(
        self,
        hook: Any,
        project_id: int,
        bizdate_ms: int,
        task_id: int,
        env_type: str | None,
        workflow_instance_type: str | None,
    ) -> list[TaskInstance]:
        """The instances of node ``task_id`` of one business date (of ``workflow_instance_type`` only, unless None):
        one ListTaskInstances (per 500 instances) for every request of the same arguments within the window."""
        key = (hook.dataworks_conn_id, "node_day", project_id, bizdate_ms, task_id, env_type, workflow_instance_type)

        def listing() -> Awaitable[list[TaskInstance]]:
            if workflow_instance_type is None:
                return hook.alist_instances(project_id, bizdate_ms, task_id=task_id, env_type=env_type)
            return hook.alist_instances(
                project_id,
                bizdate_ms,
                task_id=task_id,
                env_type=env_type,
                workflow_instance_type=workflow_instance_type,
            )

        found: list[TaskInstance] = await self.once(key, listing)
        return found

    async def once(self, key: Hashable, call: Callable[[], Awaitable[Any]]) -> Any:
        """``call()``, made once for every request of ``key`` that arrives within the window."""
        future = self._in_flight.get(key)
        if future is None:
            future = self._in_flight[key] = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().create_task(self._run_once(key, future, call))
        return await asyncio.shield(future)

    async def _run_once(self, key: Hashable, future: asyncio.Future[Any], call: Callable[[], Awaitable[Any]]) -> None:
        await asyncio.sleep(self.window)
        del self._in_flight[key]
        try:
            future.set_result(await call())
        except Exception as err:
            future.set_exception(err)


_PER_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SharedPolling] = weakref.WeakKeyDictionary()


def shared_polling() -> SharedPolling:
    """The running event loop's :class:`SharedPolling` (created on first use)."""
    loop = asyncio.get_running_loop()
    if loop not in _PER_LOOP:
        _PER_LOOP[loop] = SharedPolling()
    return _PER_LOOP[loop]


class SharedReads:
    """A hook stand-in for :func:`~airflow_provider_dataworks.domain.hook_calls.run_async`: the reads a wait makes go
    through :class:`SharedPolling`; anything else goes to ``hook``.

    ``project_id``/``bizdate_ms`` (epoch ms)/``env_type`` of the waited instance; without the first two,
    instance reads are the wait's own GetTaskInstance calls.
    """

    def __init__(
        self,
        hook: Any,
        shared: SharedPolling,
        project_id: int | None,
        bizdate_ms: int | None,
        env_type: str | None = None,
    ) -> None:
        self.hook = hook
        self.shared = shared
        self.project_id = project_id
        self.bizdate_ms = bizdate_ms
        self.env_type = env_type

    async def aget_instance(self, instance_id: int) -> TaskInstance:
        if self.project_id is None or self.bizdate_ms is None:
            return await self.hook.aget_instance(instance_id)
        return await self.shared.instance(self.hook, self.project_id, self.bizdate_ms, self.env_type, instance_id)

    async def alist_downstream(self, instance_id: int) -> list[TaskInstance]:
        key = (self.hook.dataworks_conn_id, "downstream", instance_id)
        return await self.shared.once(key, lambda: self.hook.alist_downstream(instance_id))

    async def aget_workflow_instance(self, workflow_instance_id: int) -> Any:
        key = (self.hook.dataworks_conn_id, "workflow", workflow_instance_id)
        return await self.shared.once(key, lambda: self.hook.aget_workflow_instance(workflow_instance_id))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.hook, name)
