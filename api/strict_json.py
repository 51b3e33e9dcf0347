"""JSON from outside held to RFC 8259, so whatever is admitted can be hashed, stored and sent on.

Python's decoder also accepts `NaN`, `Infinity` and `-Infinity`, turns `1e999` into infinity and
lets a `\\ud800` escape through as a lone surrogate. None of these is JSON: canonical JSON, the
payload hash, SQLite's JSON check and Postgres jsonb all fail on them. Every door that decodes
JSON from a user (the API body, the JSON fields of the page forms) decodes it here.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


class InvalidJson(ValueError):
    """Text that is not JSON; the message says where and why."""


def loads(text: str | bytes) -> Any:
    value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    _refuse_surrogates(value)
    return value


def _refuse_constant(name: str) -> Any:
    raise InvalidJson(f"{name} is not a JSON number: send a finite number or null")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise InvalidJson(f"the number {text[:40]} is too large: send a finite number")
    return number


def _refuse_surrogates(value: Any) -> None:
    # Iterative, so the deepest nesting the decoder accepts cannot exhaust the stack here.
    pending: list[tuple[Any, str]] = [(value, "")]
    while pending:
        item, where = pending.pop()
        if isinstance(item, str):
            _check_text(item, where)
        elif isinstance(item, dict):
            for key, child in item.items():
                path = f"{where}.{key}" if where else str(key)
                _check_text(key, f"a key in {where or 'the body'}")
                pending.append((child, path))
        elif isinstance(item, list):
            pending.extend((child, f"{where}[{index}]") for index, child in enumerate(item))


def _check_text(text: str, where: str) -> None:
    match = _SURROGATE.search(text)
    if match:
        escape = f"\\u{ord(match.group()):04x}"
        raise InvalidJson(
            f"{where or 'the body'}: {escape} is a lone surrogate, not a character; send valid Unicode text"
        )
