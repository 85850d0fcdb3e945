"""Alibaba Cloud regions: their DataWorks scheduling time zone and OpenAPI endpoint (pure, no I/O).

DataWorks schedules in the *region's* local zone, not in UTC and not per workspace. Some regions can be
switched (region-wide) to UTC+0 or UTC+8, so every caller lets the user override the zone.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: Scheduling time zone (IANA name) of each region with a known default; ``cn-*`` regions not listed
#: here fall back to Asia/Shanghai.
REGION_TIMEZONES: dict[str, str] = {
    "cn-hangzhou": "Asia/Shanghai",
    "cn-shanghai": "Asia/Shanghai",
    "cn-beijing": "Asia/Shanghai",
    "cn-shenzhen": "Asia/Shanghai",
    "cn-zhangjiakou": "Asia/Shanghai",
    "cn-chengdu": "Asia/Shanghai",
    "cn-wulanchabu": "Asia/Shanghai",
    "cn-hongkong": "Asia/Hong_Kong",
    "ap-southeast-1": "Asia/Singapore",
    "ap-northeast-1": "Asia/Tokyo",
    "eu-central-1": "Europe/Berlin",
    "us-west-1": "America/Los_Angeles",
    "us-east-1": "America/New_York",
}


def region_timezone(region_id: str) -> str | None:
    """The default scheduling zone of ``region_id``, or None when the region is not known."""
    if region_id in REGION_TIMEZONES:
        return REGION_TIMEZONES[region_id]
    if region_id.startswith("cn-") and region_id != "cn-hongkong":
        return "Asia/Shanghai"
    return None


def default_endpoint(region_id: str) -> str:
    """The public OpenAPI endpoint of DataWorks in ``region_id`` (host only, HTTPS)."""
    return f"dataworks.{region_id}.aliyuncs.com"


def validate_timezone(name: str, field: str = "timezone") -> str:
    """Return ``name`` if it is a known IANA zone, else raise ValueError naming ``field``."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as err:
        raise ValueError(
            f"{field}={name!r} is not an IANA time zone; use a name such as 'Asia/Shanghai' "
            "or 'Europe/Berlin' (fixed offsets like '+08:00' cannot follow daylight saving)."
        ) from err
    return name
