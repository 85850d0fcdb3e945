"""``ApiError``: a refusal as DataWorks states it (HTTP status, ``Code``, ``Message``), raised by model and API alike.

The model raises it for the vendor's documented refusals (a 404 ``Invalid.Task.NotFound``, a 403
``Forbidden.Access``); the API layer turns it into the error answer. The status is part of DataWorks' error model
(the SDK reports it), not a sign that the model knows HTTP.
"""

from __future__ import annotations


class ApiError(Exception):
    """An OpenAPI error answer: status, ``Code`` and ``Message`` (``headers``: extra answer headers, e.g. a
    throttle's retry-after)."""

    def __init__(self, http_status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{http_status} {code}: {message}")
        self.http_status = http_status
        self.code = code
        self.message = message
        self.headers = headers or {}
