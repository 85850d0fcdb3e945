"""A task that met DataWorks' daily quota defers itself to the quota's reset instead of failing.

The call DataWorks refused with ``Throttling.Api.Risk`` did not take effect, so the task, resumed after the reset
(+ ``api_limits.RESUME_MARGIN_S``), goes on from where it is with the same exactly-once steps: find the instance, read
its state, trigger only while it still waits. It waits with ``DataWorksQuotaResetTrigger`` (``triggers/quota_reset.py``,
2.11 and 3.x), which hands the try's state back in its event: the worker slot is free meanwhile, a deferral spends
no try and no API call.

Bounded: at most :data:`MAX_QUOTA_DEFERRALS` a try (a quota still used up right after its reset means something
else spends it), and never past the task's deadline (``execution_timeout`` from the try's start): a reset after
it fails the task at once, saying when the quota resets. Each deferral, and each refusal to wait, is counted
(``dataworks.quota.deferrals``, ``hooks/metrics.py``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NoReturn

from airflow_provider_dataworks.exceptions import DataWorksError
from airflow_provider_dataworks.triggers.quota_reset import refused_in_quota_day_of, whose_quota

if TYPE_CHECKING:
    from airflow_provider_dataworks.exceptions import DataWorksApiError
    from airflow_provider_dataworks.hooks.connection import ConnectionSettings

#: Quota deferrals a try may make before it fails.
MAX_QUOTA_DEFERRALS = 3


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

    from airflow_provider_dataworks.hooks import metrics
    from airflow_provider_dataworks.triggers.quota_reset import DataWorksQuotaResetTrigger

    resume = settings.daily_quota_reset.resume_at(refused_in_quota_day_of(err))
    when = resume.isoformat()
    quota = whose_quota(settings)
    refusal = _not_waiting(err, quota, resume, deferrals, deadline)
    metrics.quota_deferral(settings.conn_id, "gave_up" if refusal else "deferred")
    if refusal:
        raise AirflowFailException(refusal) from err
    said = f"{quota[0].upper()}{quota[1:]} used up ({err.code}, on {err.action}; the call did not take effect)"
    task.log.warning(
        "%s; resuming at %s (quota wait %d of at most %d).", said, when, deferrals + 1, MAX_QUOTA_DEFERRALS
    )
    task.defer(
        trigger=DataWorksQuotaResetTrigger(resume.timestamp(), {**state, "quota_deferrals": deferrals + 1}),
        method_name=method_name,
    )
    raise AssertionError("defer raises TaskDeferred")


def _not_waiting(
    err: DataWorksApiError, quota: str, resume: datetime, deferrals: int, deadline: float | None
) -> str | None:
    """Why the task fails instead of waiting for the reset (None: it waits)."""
    when = resume.isoformat()
    if deferrals >= MAX_QUOTA_DEFERRALS:
        return (
            f"{quota} is still used up after {deferrals} resets ({err.code}); not waiting again (it next resets "
            f"{when}). Something else spends it: raise the quota or spend fewer calls."
        )
    if deadline is not None and resume.timestamp() > deadline:
        ends = datetime.fromtimestamp(deadline, timezone.utc).astimezone(resume.tzinfo).isoformat()
        return (
            f"{quota} is used up ({err.code}) and resets {when}, after this try's execution_timeout ({ends}): not "
            "waiting. Raise execution_timeout past the reset, or run the task after it."
        )
    return None


def resumed_state(event: Any) -> dict[str, Any]:
    """The state :func:`defer_until_reset` deferred with (``quota_deferrals`` included), from the trigger's event;
    a clear error for any other event."""
    from airflow_provider_dataworks.triggers.quota_reset import QUOTA_RESET

    if not isinstance(event, dict) or event.get("status") != QUOTA_RESET or "quota_deferrals" not in event:
        raise DataWorksError(f"unexpected event from DataWorksQuotaResetTrigger: {event!r}")
    return {k: v for k, v in event.items() if k not in ("status", "resumed_at")}
