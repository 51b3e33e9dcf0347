"""JSON as people read it on pages: indented, keys sorted, any script shown as itself."""

from __future__ import annotations

import json
from typing import Any


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
