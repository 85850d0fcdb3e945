"""One HTTP exchange as the emulator's handlers see it: ``Request`` in, ``Answer`` out (``httpd.py`` carries them)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JSON = "application/json;charset=utf-8"


@dataclass(frozen=True)
class Request:
    """One HTTP request as the handlers need it: ``target`` is the raw path and query; headers lower-case."""

    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Answer:
    """What to send back; ``drop`` closes the connection without an answer instead."""

    status: int = 200
    body: bytes = b""
    content_type: str = JSON
    headers: Mapping[str, str] = field(default_factory=dict)
    drop: bool = False


DROP = Answer(status=0, drop=True)


def json_answer(status: int, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Answer:
    return Answer(status, json.dumps(payload).encode(), JSON, dict(headers or {}))
