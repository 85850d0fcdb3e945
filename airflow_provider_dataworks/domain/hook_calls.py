"""Sans-I/O steps: a generator yields the hook calls it needs; one driver runs them sync, another async.

This keeps one copy of each multi-call procedure (a poll, a paginated listing) for the worker (sync
hook methods) and the triggerer (their ``a``-prefixed async twins).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class HookCall:
    """One call a step needs: the sync hook method ``name`` (its async twin is ``"a" + name``)."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


Steps = Generator[HookCall, Any, T]


def run_sync(steps: Steps[T], hook: Any) -> T:
    """Drive ``steps`` with the hook's sync methods."""
    try:
        call = next(steps)
        while True:
            call = steps.send(getattr(hook, call.name)(*call.args, **call.kwargs))
    except StopIteration as done:
        return done.value


async def run_async(steps: Steps[T], hook: Any) -> T:
    """Drive ``steps`` with the hook's async methods."""
    try:
        call = next(steps)
        while True:
            call = steps.send(await getattr(hook, "a" + call.name)(*call.args, **call.kwargs))
    except StopIteration as done:
        return done.value
