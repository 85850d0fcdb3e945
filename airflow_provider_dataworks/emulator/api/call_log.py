"""The call log: every OpenAPI and STS request the emulator received, answered or not, oldest first."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Call:
    """One OpenAPI request as the emulator saw it. ``params`` are the merged query and form fields."""

    action: str
    params: dict[str, str]
    at: datetime  # the emulated clock's time
    http_status: int
    error_code: str | None
    access_key_id: str | None
    request_id: str
    fault: str | None = None
    account_id: str | None = None  # the signing key's account (None: the key was not known)
    #: The wall clock (epoch s) when the call was logged, whatever the emulated clock says: a client's poll cycles
    #: follow the wall clock, so calls are grouped by cycle with it while the emulated clock stands still.
    received: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "at": self.at.isoformat()}


class CallLog:
    """The calls received so far (thread-safe)."""

    def __init__(self) -> None:
        self._calls: list[Call] = []
        self._lock = threading.Lock()

    def record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def all(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
