"""A JSON value stored as its canonical text, byte for byte what the chain hashes."""

from __future__ import annotations

import json
from typing import Any

from django.db import models

from audit.chain import canonical_json


class CanonicalJSONField(models.TextField):
    """Unlike JSONField (jsonb reorders keys and reformats numbers), the stored text is the hashed text."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        return None if value is None else json.loads(value)

    def to_python(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    def get_prep_value(self, value: Any) -> str | None:
        return None if value is None else canonical_json(value)
