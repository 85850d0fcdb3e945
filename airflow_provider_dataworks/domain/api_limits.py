"""DataWorks' OpenAPI limits: the editions' QPS, which calls are reads and which writes, and the daily call quota's
day (when it resets, and when a task that met it resumes). Pure: no I/O, no clock.

Limits per account and region (DataWorks' OpenAPI page, May 2026), shared by every key and process of the account:
Enterprise (the edition HTTP trigger nodes need) reads <= 50 QPS and writes <= 20 QPS, no daily cap, 1,000,000
calls a month free; Basic 5 QPS and 100 calls a day. So the provider assumes Enterprise: no daily cap unless the
connection sets ``daily_quota``, the account's QPS from ``read_qps`` / ``write_qps`` (default 50 / 20).

DataWorks caps the Basic edition at 100 calls a day per account and region (``Throttling.Api.Risk`` once used
up) but does not document when that day begins. Alibaba Cloud bills by days of UTC+8 (e.g. ARMS: "charged at
00:00 (UTC+8) every day"), so the default is 00:00 Asia/Shanghai; the connection extra ``daily_quota_reset``
and the emulator's ``reset`` take another ``"HH:MM[:SS] Zone"`` (an IANA zone). The emulator counts with it and
the provider waits for it, from the one arithmetic here.

Daylight saving: a reset time the clocks skip happens as far after the gap's start as it is into the gap
(02:30 on a spring-forward day at 01:00 UTC+1 -> 03:30 UTC+2); a time the clocks pass twice resets at its
first pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from airflow_provider_dataworks.exceptions import DataWorksConfigError

#: The Basic edition's calls a day per account and region (a connection sets it with ``daily_quota``).
BASIC_DAILY_QUOTA = 100
#: The daily cap a connection has unless it sets ``daily_quota``: none (Enterprise, Standard, Professional).
DEFAULT_DAILY_QUOTA: int | None = None
#: Enterprise's account-wide limits per region (read: Get*/List*; write: everything else).
ENTERPRISE_READ_QPS = 50.0
ENTERPRISE_WRITE_QPS = 20.0
#: Enterprise's free calls a month (then a price per 10,000).
ENTERPRISE_MONTHLY_FREE_CALLS = 1_000_000
#: edition -> its limits as the emulator's ``Quota.configure`` takes them (``--edition``): Basic's 5 QPS is for all
#: calls together. Standard and Professional are left out: the page gives no QPS for them, and they cannot run
#: HTTP trigger nodes.
EDITIONS: dict[str, dict[str, float | int | None]] = {
    "basic": {"qps": 5, "read_qps": None, "write_qps": None, "daily": BASIC_DAILY_QUOTA},
    "enterprise": {"qps": None, "read_qps": ENTERPRISE_READ_QPS, "write_qps": ENTERPRISE_WRITE_QPS, "daily": None},
}
_READ_PREFIXES = ("Get", "List", "Describe", "Query", "Check")


def api_kind(action: str) -> str:
    """``"read"`` for Get*/List* (and other queries), ``"write"`` for the rest: TriggerSchedulerTaskInstance and
    the Stop/Rerun/SetSuccess/Suspend/Resume batch operations. DataWorks limits the two separately."""
    return "read" if action.startswith(_READ_PREFIXES) else "write"


#: When the quota day begins where DataWorks does not say (Alibaba Cloud's billing day, UTC+8).
DEFAULT_RESET = "00:00 Asia/Shanghai"
#: Seconds after the reset at which a task that met the quota resumes (clocks differ; DataWorks' counter may
#: roll over a little late). Read at each :meth:`QuotaReset.resume_at` call, not bound at import: the one seam tests
#: use, lowering it with ``monkeypatch`` where the deferral and its trigger run in the test's process (dag.test()).
RESUME_MARGIN_S = 30

_RESET = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?\s+(\S+)$")


@dataclass(frozen=True)
class QuotaReset:
    """The wall time ``at`` in IANA ``zone`` at which the daily quota starts again."""

    at: time
    zone: str

    def __str__(self) -> str:
        return f"{self.at.isoformat()} {self.zone}"

    def _on(self, day: datetime) -> datetime:
        """The reset instant (UTC) of the local calendar day of ``day``."""
        local = datetime.combine(day.date(), self.at, tzinfo=ZoneInfo(self.zone))  # fold=0: first pass, or shifted
        return local.astimezone(timezone.utc)

    def last_reset(self, now: datetime) -> datetime:
        """The latest reset at or before ``now`` (aware): the start of the quota day ``now`` is in, in UTC."""
        local = now.astimezone(ZoneInfo(self.zone))
        candidates = (self._on(local + timedelta(days=d)) for d in (-1, 0, 1))
        return max(c for c in candidates if c <= now)

    def next_reset(self, now: datetime) -> datetime:
        """The first reset after ``now`` (aware), in the reset's zone."""
        local = now.astimezone(ZoneInfo(self.zone))
        candidates = (self._on(local + timedelta(days=d)) for d in (0, 1, 2))
        return min(c for c in candidates if c > now).astimezone(ZoneInfo(self.zone))

    def resume_at(self, now: datetime) -> datetime:
        """When a task that met the quota at ``now`` goes on: the next reset + :data:`RESUME_MARGIN_S`."""
        return self.next_reset(now) + timedelta(seconds=RESUME_MARGIN_S)


def parse_reset(text: str | None, field: str = "daily_quota_reset") -> QuotaReset:
    """``"HH:MM[:SS] Zone"`` (e.g. ``00:00 Asia/Shanghai``, ``10:15:30 UTC``); None or blank: the default.

    Raises DataWorksConfigError naming ``field`` and the expected form.
    """
    raw = DEFAULT_RESET if text is None or not str(text).strip() else str(text).strip()
    match = _RESET.match(raw)
    form = "'HH:MM[:SS] Zone' with an IANA zone, e.g. '00:00 Asia/Shanghai'"
    if not match:
        raise DataWorksConfigError(f"{field}={text!r} is not {form}.")
    hour, minute, second, zone = int(match[1]), int(match[2]), int(match[3] or 0), match[4]
    if hour > 23 or minute > 59 or second > 59:
        raise DataWorksConfigError(f"{field}={text!r} is not a time of day (00:00:00-23:59:59); use {form}.")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise DataWorksConfigError(f"{field}={text!r}: {zone!r} is not an IANA time zone; use {form}.") from err
    return QuotaReset(time(hour, minute, second), zone)
