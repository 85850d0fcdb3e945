"""Time arithmetic of DataWorks trigger times (pure functions, no I/O).

- **TriggerTime**: an instance's scheduled time as epoch **milliseconds** (an instant; zone-free).
- **Bizdate**: 00:00 of the day *before* the scheduled date, in the **scheduling zone**, as epoch ms.
- The console shows and accepts times as ``YYYY-MM-DD HH:MM:SS`` in the scheduling zone.

Nothing here reads the worker's local zone, ``ds``, or the current time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from airflow_provider_dataworks.exceptions import DataWorksConfigError

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_MS = timedelta(milliseconds=1)
#: Plausible epoch-ms range (2000-01-01 .. 2100-01-01): tells milliseconds from seconds.
_MIN_MS, _MAX_MS = 946_684_800_000, 4_102_444_800_000
_CONSOLE_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


class TriggerTimeError(ValueError):
    """A trigger time that cannot name one instant; the message names the field and the fix.

    The operators' argument checks and :func:`resolve_trigger_time` raise it as a ``DataWorksConfigError``.
    """


def plain_utc(moment: datetime) -> datetime:
    """An aware datetime as a plain stdlib ``datetime`` in UTC (pendulum's subclass does its own arithmetic)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise TriggerTimeError(f"{moment.isoformat()} is naive; give it a time zone")
    utc = moment.astimezone(timezone.utc)
    return datetime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, timezone.utc)


def to_epoch_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime (exact, no float rounding)."""
    return (plain_utc(moment) - _EPOCH) // _ONE_MS


def from_epoch_ms(epoch_ms: int) -> datetime:
    """The aware UTC datetime of an epoch-millisecond value."""
    return _EPOCH + epoch_ms * _ONE_MS


def in_zone(epoch_ms: int, zone: str) -> datetime:
    """The wall-clock datetime of ``epoch_ms`` in IANA ``zone``."""
    return from_epoch_ms(epoch_ms).astimezone(ZoneInfo(zone))


def format_in_zone(epoch_ms: int, zone: str) -> str:
    """``2026-11-25 00:30:00 +08:00``: the console's format with the offset in force then."""
    local = in_zone(epoch_ms, zone)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def scheduled_date(epoch_ms: int, zone: str) -> date:
    """The scheduled (calendar) date of an instance in the scheduling zone."""
    return in_zone(epoch_ms, zone).date()


def bizdate_ms(trigger_time_ms: int, zone: str) -> int:
    """The business date of the instance scheduled at ``trigger_time_ms``: 00:00 of the previous day, in ms."""
    day = scheduled_date(trigger_time_ms, zone) - timedelta(days=1)
    return to_epoch_ms(datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)))


def local_to_epoch_ms(wall: datetime, zone: str, field: str = "trigger_time") -> int:
    """Read a naive wall-clock time in ``zone``, as DataWorks does.

    A time that occurs twice (DST fall back) is read at its second occurrence, the one DataWorks keeps;
    a time that does not exist (spring forward) is an error.
    """
    tz = ZoneInfo(zone)
    local = wall.replace(tzinfo=tz, fold=1)
    round_trip = local.astimezone(timezone.utc).astimezone(tz)
    if round_trip.replace(tzinfo=None) != wall.replace(tzinfo=None, fold=0):
        raise TriggerTimeError(
            f"{field}={wall:%Y-%m-%d %H:%M:%S} does not exist in {zone} (the clocks skip that hour for "
            "daylight saving); DataWorks delays such a daily instance one hour, so use the next hour."
        )
    return to_epoch_ms(local)


def kept_occurrence(epoch_ms: int, zone: str) -> int:
    """The instant DataWorks uses for the wall time of ``epoch_ms`` in ``zone``.

    The same instant, except in the first pass of a repeated hour (DST fall back): DataWorks keeps only
    the second occurrence of such a wall time, so 02:00 +02:00 on 2026-10-25 in Berlin maps to 02:00 +01:00.
    """
    wall = in_zone(epoch_ms, zone).replace(tzinfo=None, fold=0)
    return local_to_epoch_ms(wall, zone)


def is_console_format(value: Any) -> bool:
    """Whether ``value`` is the console's ``YYYY-MM-DD HH:MM:SS`` (a wall time that needs the zone)."""
    return isinstance(value, str) and bool(_CONSOLE_FORMAT.match(value.strip()))


def parse_console_wall(text: str, field: str = "trigger_time") -> datetime:
    """The naive wall time of a console-format string; an impossible date or time names the field."""
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError as err:
        raise TriggerTimeError(f"{field}={text!r} is not a real date and time ({err}); check the digits.") from err


def parse_trigger_time(value: Any, zone: str | None, field: str = "trigger_time") -> int:
    """Turn a user's ``trigger_time`` into epoch ms.

    Accepts an aware ``datetime``; epoch milliseconds (int or digit string, 13 digits); ISO-8601 with
    an offset (``2026-11-25T00:30:00+08:00``); or the console's ``YYYY-MM-DD HH:MM:SS`` read in ``zone``.
    ``zone`` None (not known yet, at parse time) only words the errors; a console-format string needs it.
    """
    where = zone or "the scheduling zone"
    if isinstance(value, bool):
        raise TriggerTimeError(f"{field}={value!r} is not a time; pass epoch milliseconds or an aware datetime")
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise TriggerTimeError(
                f"{field}={value.isoformat()} is a naive datetime; attach a zone (e.g. pendulum.datetime(..., "
                f"tz='{zone or 'Asia/Shanghai'}')) or pass the console's 'YYYY-MM-DD HH:MM:SS' string, which is "
                f"read in {where}."
            )
        return to_epoch_ms(value)
    if isinstance(value, date):
        raise TriggerTimeError(f"{field}={value.isoformat()} is a date; DataWorks needs the scheduled time, not a day")
    if isinstance(value, int):
        return _check_ms(value, field)
    if isinstance(value, float):
        raise TriggerTimeError(f"{field}={value!r} is a float; pass whole epoch milliseconds (int)")
    if not isinstance(value, str):
        raise TriggerTimeError(f"{field} must be a datetime, epoch ms or a string, got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise TriggerTimeError(f"{field} is empty; did a template render to nothing?")
    if text.isdigit():
        return _check_ms(int(text), field)
    if _CONSOLE_FORMAT.match(text):
        if zone is None:
            raise TriggerTimeError(
                f"{field}={text!r} is a wall time, read in the scheduling zone, which is not known here: pass an "
                "ISO-8601 time with an offset (2026-11-25T00:30:00+08:00) or epoch milliseconds."
            )
        return local_to_epoch_ms(parse_console_wall(text, field), zone, field)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise TriggerTimeError(
            f"{field}={text!r} is not a time DataWorks understands; use epoch ms (1764001800000), ISO-8601 with "
            f"an offset (2026-11-25T00:30:00+08:00) or 'YYYY-MM-DD HH:MM:SS' in {where}."
        ) from err
    if parsed.tzinfo is None:
        raise TriggerTimeError(
            f"{field}={text!r} has no UTC offset; add one (e.g. +08:00) or use 'YYYY-MM-DD HH:MM:SS', read in {where}."
        )
    return to_epoch_ms(parsed)


def _check_ms(value: int, field: str) -> int:
    if _MIN_MS <= value < _MAX_MS:
        return value
    if _MIN_MS // 1000 <= value < _MAX_MS // 1000:
        raise TriggerTimeError(f"{field}={value} looks like epoch seconds; DataWorks wants milliseconds ({value}000)")
    raise TriggerTimeError(f"{field}={value} is not an epoch-millisecond time between 2000 and 2100")


_SCHEDULED_KEYS = ("data_interval_end", "logical_date")


def run_moment(context: Mapping[str, Any]) -> tuple[datetime, str]:
    """The instant a DAG run stands for, and where it came from.

    Scheduled and backfill runs: ``data_interval_end`` (the cron fire time under both CronTriggerTimetable
    and CronDataIntervalTimetable), else ``logical_date``. Manual runs: the ``logical_date`` the user chose
    (Airflow 3 infers a manual run's data interval from the moment it was triggered, not from that date).
    Airflow 3 runs without a logical date have neither: that raises, never "now".
    """
    run_type = getattr(context.get("dag_run"), "run_type", None)
    keys = ("logical_date",) if str(getattr(run_type, "value", run_type)) == "manual" else _SCHEDULED_KEYS
    for key in keys:
        moment = context.get(key)
        if moment is not None:
            return moment, key
    raise TriggerTimeError(
        "this DAG run has no logical date (Airflow 3 runs triggered from the API, the UI without a date, "
        "TriggerDagRunOperator or assets), so it does not name a DataWorks instance. Pass trigger_time, e.g. "
        'trigger_time="{{ dag_run.conf[\'trigger_time\'] }}" with conf {"trigger_time": "2026-11-25 00:30:00"}, '
        "or trigger the run with a logical date."
    )


def resolve_trigger_time(trigger_time: Any, context: Mapping[str, Any], zone: str) -> tuple[int, str]:
    """(TriggerTime in epoch ms, where it came from): ``trigger_time`` read in ``zone`` if given, else the run's
    date (:func:`run_moment`).

    A ``trigger_time`` template that rendered to nothing is an error, never a fall-back to the run's date.
    """
    try:
        if trigger_time is not None:
            return parse_trigger_time(trigger_time, zone), "trigger_time"
        moment, source = run_moment(context)
        return to_epoch_ms(moment), source
    except TriggerTimeError as err:
        raise DataWorksConfigError(str(err)) from err


def dag_zone(context: Mapping[str, Any]) -> str | None:
    """The IANA zone of the run's DAG (its start_date's or timetable's), for advice; None when not a named zone."""
    name = getattr(getattr(context.get("dag"), "timezone", None), "name", None)
    if not isinstance(name, str):
        return None
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return None
    return name
