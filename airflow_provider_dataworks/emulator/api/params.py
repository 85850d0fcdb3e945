"""An operation's parameters, typed the way DataWorks' gateway types them, and the paging of list answers.

:func:`parse_params` types the merged query and form fields the way the SDK sends them (integers as text, booleans
as ``True``/``False``, arrays as one JSON-encoded field), answers a missing required one with the gateway's 400
``Missing<Name>`` and a mistyped one or a value outside its official enum with 400 ``Invalid.Param``. A parameter is
accepted at either position (signature-v1 clients send everything in the query).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_dataworks.emulator.backend import ApiError

#: The page size an operation whose docs state no maximum takes up to; above it: 400 ``Invalid.Param``.
MAX_PAGE_SIZE = 500


#: Param kind -> how the error answer names what it wants.
_EXPECTED = {
    "int": "an integer",
    "bool": "True or False",
    "int_list": "a JSON array of integers",
    "str_list": "a JSON array of strings",
    "json": "JSON",
}


@dataclass(frozen=True)
class Param:
    """One official parameter of an operation: its type, whether it is required, where the metadata puts it, and
    its official values (None: any)."""

    kind: str  # "int" | "str" | "bool" | "int_list" | "str_list" | "json"
    required: bool = False
    position: str = "Body"  # "Query" | "Body": where the official metadata puts it (either is accepted)
    enum: tuple[str, ...] | None = None


def parse_params(spec: Mapping[str, Param], raw: Mapping[str, str]) -> dict[str, Any]:
    """Type the raw string fields by ``spec``; unknown fields are ignored as DataWorks does."""
    typed: dict[str, Any] = {}
    for name, param in spec.items():
        value = raw.get(name)
        if value is None or value == "":
            if param.required:
                raise ApiError(400, f"Missing{name}", f"{name} is mandatory for this action.")
            continue
        typed[name] = _convert(name, param.kind, value)
        if param.enum is not None and typed[name] not in param.enum:
            raise ApiError(
                400, "Invalid.Param", f"The parameter {name} has no value {value!r} (one of {', '.join(param.enum)})."
            )
    return typed


def _convert(name: str, kind: str, value: str) -> Any:
    try:
        if kind == "int":
            return int(value)
        if kind == "bool":
            if value not in ("True", "False", "true", "false"):
                raise ValueError(value)
            return value.lower() == "true"
        if kind in ("int_list", "str_list", "json"):
            items = json.loads(value)
            if kind == "json":
                return items
            if not isinstance(items, list):
                raise ValueError(value)
            return [int(i) for i in items] if kind == "int_list" else [str(i) for i in items]
    except (ValueError, TypeError) as err:
        expected = _EXPECTED[kind]
        raise ApiError(400, "Invalid.Param", f"The parameter {name} must be {expected}, got {value!r}.") from err
    return value


def paginate(
    items: list[Any], params: Mapping[str, Any], max_size: int = MAX_PAGE_SIZE, default_size: int = 10
) -> tuple[list[Any], dict[str, int]]:
    """The page ``PageNumber`` / ``PageSize`` ask for, and the paging info of the answer; 400 when out of range."""
    number = params.get("PageNumber", 1)
    size = params.get("PageSize", default_size)
    if number < 1:
        raise ApiError(400, "Invalid.Param", "The parameter PageNumber must be 1 or more.")
    if not 1 <= size <= max_size:
        raise ApiError(400, "Invalid.Param", f"The parameter PageSize must be between 1 and {max_size}.")
    start = (number - 1) * size
    return items[start : start + size], {"PageNumber": number, "PageSize": size, "TotalCount": len(items)}
