"""A task that met DataWorks' daily quota defers itself to the quota's reset instead of failing.

The call DataWorks refused with ``Throttling.Api.Risk`` did not take effect, so the task, resumed after the reset
(+ ``quota.RESUME_MARGIN_S``), goes on from where it is with the same exactly-once steps: find the instance, read
its state, trigger only while it still waits. It waits with ``DataWorksQuotaResetTrigger`` (``triggers/quota_reset.py``,
2.11 and 3.x), which hands the try's state back in its event: the worker slot is free meanwhile, a deferral spends
no try and no API call.

Bounded: at most :data:`MAX_QUOTA_DEFERRALS` a try (a quota still used up right after its reset means something
else spends it), and never past the task's deadline (``execution_timeout`` from the try's start): a reset after
it fails the task at once, saying when the quota resets.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NoReturn

from airflow_provider_dataworks.exceptions import DataWorksError

if TYPE_CHECKING:
    from airflow_provider_dataworks.exceptions import DataWorksApiError
    from airflow_provider_dataworks.hooks.connection import ConnectionSettings

#: Quota deferrals a try may make before it fails.
MAX_QUOTA_DEFERRALS = 3


def whose_quota(settings: ConnectionSettings) -> str:
    """``the daily quota of the account of connection 'x' in region cn-hangzhou`` (no key, no secret)."""
    where = f"region {settings.region_id}" if settings.region_id else f"endpoint {settings.endpoint}"
    return f"the daily quota of the account of connection {settings.conn_id!r} in {where}"


def refused_in_quota_day_of(err: DataWorksApiError) -> datetime:
    """The instant whose quota day DataWorks refused ``err`` in: when the refused call was sent (before DataWorks
    counted it), not when the error reached us. A call answered just before the reset and handled just after
    it must wait for this reset, not the next one a day later. Now, if the error does not say."""
    sent_at = err.sent_at if err.sent_at is not None else time.time()
    return datetime.fromtimestamp(sent_at, timezone.utc)


def defer_until_reset(
    task: Any,
    err: DataWorksApiError,
    settings: ConnectionSettings,
    *,
    method_name: str,
    deferrals: int,
    deadline: float | None,
    state: dict[str, Any],
) -> NoReturn:
    """Defer ``task`` (raises ``TaskDeferred``) until the quota resets; ``method_name(context, event)`` resumes
    it, :func:`resumed_state` of the event giving back ``state`` (plain JSON values) and ``quota_deferrals``.
    Fails without retry past :data:`MAX_QUOTA_DEFERRALS` or ``deadline`` (epoch seconds)."""
    from airflow.providers.common.compat.sdk import AirflowFailException

    from airflow_provider_dataworks.triggers.quota_reset import DataWorksQuotaResetTrigger

    resume = settings.daily_quota_reset.resume_at(refused_in_quota_day_of(err))
    when = resume.isoformat()
    quota = whose_quota(settings)
    if deferrals >= MAX_QUOTA_DEFERRALS:
        raise AirflowFailException(
            f"{quota} is still used up after {deferrals} resets ({err.code}); not waiting again (it next resets "
            f"{when}). Something else spends it: raise the quota or spend fewer calls."
        ) from err
    if deadline is not None and resume.timestamp() > deadline:
        ends = datetime.fromtimestamp(deadline, timezone.utc).astimezone(resume.tzinfo).isoformat()
        raise AirflowFailException(
            f"{quota} is used up ({err.code}) and resets {when}, after this try's execution_timeout ({ends}): not "
            "waiting. Raise execution_timeout past the reset, or run the task after it."
        ) from err
    task.log.warning(
        "%s used up (%s, on %s; the call did not take effect); resuming at %s (quota wait %d of at most %d).",
        quota[0].upper() + quota[1:], err.code, err.action, when, deferrals + 1, MAX_QUOTA_DEFERRALS,
    )  # fmt: skip
    task.defer(
        trigger=DataWorksQuotaResetTrigger(resume.timestamp(), {**state, "quota_deferrals": deferrals + 1}),
        method_name=method_name,
    )
    raise AssertionError("defer raises TaskDeferred")


def resumed_state(event: Any) -> dict[str, Any]:
    """The state :func:`defer_until_reset` deferred with (``quota_deferrals`` included), from the trigger's event;
    a clear error for any other event."""
    from airflow_provider_dataworks.triggers.quota_reset import QUOTA_RESET

    if not isinstance(event, dict) or event.get("status") != QUOTA_RESET or "quota_deferrals" not in event:
        raise DataWorksError(f"unexpected event from DataWorksQuotaResetTrigger: {event!r}")
    return {k: v for k, v in event.items() if k not in ("status", "resumed_at")}
