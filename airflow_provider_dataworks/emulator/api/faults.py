"""Injected faults: calls a test makes fail (errors, throttling, slow or dropped answers, held calls).

Rules only: ``wire.py`` applies the fault ``FaultPlan.pick`` chooses for a call.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from airflow_provider_dataworks.emulator.backend.errors import ApiError

#: kind -> what the wire layer does
FAULT_KINDS = {
    "server_error": "HTTP 500 InternalError.System (ServerException)",
    "throttle": "HTTP 429 Throttling.Api, with x-acs-retry-after when retry_after_ms is set (ThrottlingException)",
    "slow": "answer only after delay_seconds (longer than the client's read timeout -> UnretryableException)",
    "drop": "close the connection without an answer (UnretryableException)",
    "non_json": "HTTP 502 with an HTML body (UnretryableException)",
    "error": "HTTP status/code/message as given (e.g. 403 Forbidden.Access)",
    "lost_answer": "carry the call out, then close the connection without an answer (UnretryableException)",
    "hold": "hold the call until Fault.release() (a test's crash point), carrying it out first if apply_first; "
    "then close the connection without an answer",
}
#: Kinds whose call takes effect before the client is left without an answer.
APPLIED_FIRST = ("lost_answer",)


@dataclass
class Fault:
    """One injected fault: for ``action`` (None = every action), the next ``times`` calls or at ``rate``."""

    kind: str
    action: str | None = None
    times: int | None = None
    rate: float | None = None
    retry_after_ms: int | None = None
    delay_seconds: float = 15.0
    http_status: int | None = None
    code: str | None = None
    message: str | None = None
    apply_first: bool = False
    fired: int = 0
    arrived: threading.Event = field(default_factory=threading.Event, repr=False)
    released: threading.Event = field(default_factory=threading.Event, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(FAULT_KINDS)}")
        if self.times is None and self.rate is None:
            self.times = 1
        if self.rate is not None and not 0 <= self.rate <= 1:
            raise ValueError("rate must be between 0 and 1")

    def as_error(self) -> ApiError:
        """The error answer of an HTTP-level fault kind."""
        if self.kind == "server_error":
            return ApiError(self.http_status or 500, self.code or "InternalError.System", self.message or "Injected.")
        if self.kind == "throttle":
            headers = {"x-acs-retry-after": str(self.retry_after_ms)} if self.retry_after_ms else None
            message = self.message or "Request was denied due to api flow control."
            return ApiError(self.http_status or 429, self.code or "Throttling.Api", message, headers)
        return ApiError(self.http_status or 400, self.code or "Injected.Error", self.message or "Injected error.")

    @property
    def applies_first(self) -> bool:
        """The call takes effect before the fault acts (the client never learns that it did)."""
        return self.kind in APPLIED_FIRST or (self.kind == "hold" and self.apply_first)

    def hold(self, limit_seconds: float = 120.0) -> None:
        """(Server side) signal arrival, then block until :meth:`release` (at most ``limit_seconds``)."""
        if self.kind == "hold":
            self.arrived.set()
            self.released.wait(limit_seconds)

    def release(self) -> None:
        self.released.set()

    def to_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if not isinstance(v, threading.Event)}


class FaultPlan:
    """The faults in force; ``pick`` decides, per call, which one fires (at most one)."""

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._random = random.Random(seed)

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def pick(self, action: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.action not in (None, action):
                    continue
                if fault.times is not None:
                    if fault.times <= 0:
                        continue
                    fault.times -= 1
                elif fault.rate is not None and self._random.random() >= fault.rate:
                    continue
                fault.fired += 1
                self._faults = [f for f in self._faults if f.times is None or f.times > 0]
                return fault
            return None
