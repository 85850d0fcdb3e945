"""Metrics through Airflow's own ``Stats``: the DataWorks calls a deployment spends, the throttled and retried ones,
the quota waits, how long waits take and the asset events fired (the table: ``docs/how-to/metrics.md``).

Every name and tag is set here, so each call site is one line. ``Stats`` is Airflow's (through
``airflow.providers.common.compat.sdk``: the Task SDK's on 3.x, ``airflow.stats`` on 2.11), so the metrics go where
the deployment's own go: StatsD, Datadog or OpenTelemetry as ``[metrics]`` configures, nowhere when it configures
none. Names sit under one prefix (``dataworks.``); tags are few and low-cardinality (an action, an outcome, a
connection id: never an instance id, never a key or a secret). A metric that cannot be sent (no StatsD, a bad
plugin) is dropped and logged at debug level: metrics never fail a task, a wait or a call.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from airflow_provider_dataworks.exceptions import DataWorksApiError, InstanceFailedError, WaitTimeoutError

log = logging.getLogger(__name__)

#: The names (the prefix of the deployment's ``[metrics] statsd_prefix`` or OTel prefix comes before them).
API_CALLS = "dataworks.api.calls"
API_DURATION = "dataworks.api.duration"
API_RETRIES = "dataworks.api.retries"
API_THROTTLED = "dataworks.api.throttled"
QUOTA_DEFERRALS = "dataworks.quota.deferrals"
QUOTA_SLEEPS = "dataworks.quota.sleeps"
WAIT_DURATION = "dataworks.wait.duration"
WATCHER_EVENTS = "dataworks.watcher.events"
NAMES = (
    API_CALLS,
    API_DURATION,
    API_RETRIES,
    API_THROTTLED,
    QUOTA_DEFERRALS,
    QUOTA_SLEEPS,
    WAIT_DURATION,
    WATCHER_EVENTS,
)

#: What StatsD (InfluxDB tags), Datadog and OTel all take in a tag value; anything else becomes ``_``.
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_MAX_TAG_LEN = 64
#: Exceptions that end a try but not the wait: it goes on in the triggerer or at the next reschedule.
_WAIT_GOES_ON = frozenset({"TaskDeferred", "AirflowRescheduleException"})


def _tags(tags: dict[str, object]) -> dict[str, str]:
    return {key: _UNSAFE.sub("_", str(value))[:_MAX_TAG_LEN] for key, value in tags.items() if value is not None}


def incr(name: str, **tags: object) -> None:
    """Count one ``name`` with ``tags``; never raises."""
    try:
        from airflow_provider_dataworks import version_compat

        version_compat.Stats.incr(name, tags=_tags(tags))
    except Exception as err:
        log.debug("metric %s not sent: %s", name, err)


def timing(name: str, seconds: float, **tags: object) -> None:
    """Record a duration (a ``timedelta``: StatsD and OTel send milliseconds); never raises."""
    try:
        from airflow_provider_dataworks import version_compat

        version_compat.Stats.timing(name, timedelta(seconds=max(0.0, seconds)), tags=_tags(tags))
    except Exception as err:
        log.debug("metric %s not sent: %s", name, err)


# ------------------------------------------------------------------------------------------------ API calls
def api_outcome(err: BaseException | None) -> str:
    """The class of a call's end: ``success``, ``throttled``, ``daily_quota``, ``client_error`` (4xx: signature,
    permission, parameter), ``server_error`` (5xx, other passing causes), ``no_answer``, ``credentials`` (STS) or
    ``other`` (not DataWorks' answer)."""
    if err is None:
        return "success"
    if not isinstance(err, DataWorksApiError):
        return "other"
    if err.service != "DataWorks":
        return "credentials"
    if err.daily_quota:
        return "daily_quota"
    if err.surely_not_applied:
        return "throttled"
    if err.code == "NoAnswer":
        return "no_answer"
    return "server_error" if err.transient else "client_error"


@contextmanager
def api_call(action: str, conn_id: str) -> Iterator[None]:
    """Around one call and its retries: ``dataworks.api.calls`` and ``dataworks.api.duration`` by action and
    outcome (the block's exception: the hook's :class:`DataWorksApiError`). A cancelled call counts nothing."""
    started = time.monotonic()
    try:
        yield
    except Exception as err:
        _api_call_ended(action, conn_id, api_outcome(err), started)
        raise
    _api_call_ended(action, conn_id, "success", started)


def _api_call_ended(action: str, conn_id: str, outcome: str, started: float) -> None:
    incr(API_CALLS, action=action, outcome=outcome, conn_id=conn_id)
    timing(API_DURATION, time.monotonic() - started, action=action, outcome=outcome, conn_id=conn_id)


def throttled(action: str, conn_id: str) -> None:
    """DataWorks refused one attempt for its QPS (429 ``Throttling.*``, not the daily quota)."""
    incr(API_THROTTLED, action=action, conn_id=conn_id)


def retry(action: str, conn_id: str, reason: str) -> None:
    """The hook sends an attempt once more; ``reason``: ``throttled`` or ``transient`` (5xx, no answer)."""
    incr(API_RETRIES, action=action, reason=reason, conn_id=conn_id)


# ------------------------------------------------------------------------------------------------ the quota
def quota_deferral(conn_id: str, outcome: str) -> None:
    """A task met the daily quota: ``deferred`` to its reset, or ``gave_up`` (too many resets, past its deadline)."""
    incr(QUOTA_DEFERRALS, outcome=outcome, conn_id=conn_id)


def quota_sleep(conn_id: str, by: str) -> None:
    """A deferred wait (``by="wait"``) or an asset watcher (``by="watcher"``) sleeps until the quota resets."""
    incr(QUOTA_SLEEPS, by=by, conn_id=conn_id)


# ------------------------------------------------------------------------------------------------ waits, events
def wait_ended(wait_for: str, mode: str, outcome: str, conn_id: str, seconds: float) -> None:
    """A wait ended: ``mode`` ``deferred`` (in the triggerer) or ``sync`` (in the worker); ``outcome`` ``success``,
    ``failure``, ``timeout``, ``retrigger`` or ``error``."""
    timing(WAIT_DURATION, seconds, wait_for=wait_for, mode=mode, outcome=outcome, conn_id=conn_id)


def wait_outcome(err: BaseException | None) -> str:
    if err is None:
        return "success"
    if isinstance(err, InstanceFailedError):
        return "failure"
    if isinstance(err, WaitTimeoutError) or type(err).__name__.endswith("Timeout"):
        return "timeout"  # also Airflow's AirflowSensorTimeout and AirflowTaskTimeout (execution_timeout)
    return "skipped" if type(err).__name__ == "AirflowSkipException" else "error"


@contextmanager
def sync_wait(wait_for: str, conn_id: str, *, enabled: bool = True) -> Iterator[None]:
    """Around a wait in the worker: ``dataworks.wait.duration`` (``mode=sync``) when it ends; nothing when the try
    defers or reschedules (the wait goes on) or ``enabled`` is False."""
    started = time.monotonic()
    try:
        yield
    except Exception as err:
        if enabled and type(err).__name__ not in _WAIT_GOES_ON:
            wait_ended(wait_for, "sync", wait_outcome(err), conn_id, time.monotonic() - started)
        raise
    if enabled:
        wait_ended(wait_for, "sync", "success", conn_id, time.monotonic() - started)


def watcher_event(conn_id: str, workflow_instance_type: str) -> None:
    """The asset watcher fired one event (one succeeded instance)."""
    incr(WATCHER_EVENTS, workflow_instance_type=workflow_instance_type, conn_id=conn_id)
