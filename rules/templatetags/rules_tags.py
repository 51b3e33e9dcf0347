"""Template helpers for standing rules: who sees the rule pages and may allow, which actions a rule
could allow, and a matcher in words."""

from __future__ import annotations

import json
from typing import Any

from django import template

from lib.roles import can_see_rules as _can_see_rules
from lib.roles import is_reviewer as _is_reviewer
from lib.roles import is_rule_admin as _is_rule_admin
from rules.selectors import allow_rule_may_decide

register = template.Library()

KIND_WORDS = {"exact": "is", "glob": "matches", "url_prefix": "is under"}


@register.filter
def is_rule_admin(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and _is_rule_admin(user)


@register.filter
def can_see_rules(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and _can_see_rules(user)


@register.filter
def allows_similar(action: Any) -> bool:
    """Whether "approve and allow similar" means anything for this action: an allow rule could decide it."""
    return allow_rule_may_decide(level=action.security_level)


@register.filter
def is_reviewer(user: Any) -> bool:
    """Whether `user` may write allow rules (other rule admins write deny rules only)."""
    return bool(getattr(user, "is_authenticated", False)) and _is_reviewer(user)


@register.filter
def matcher_text(matcher: dict[str, Any]) -> str:
    """`path matches notes/*.txt`, `url is under https://api.x/v1`, `method is "DELETE"`."""
    value = matcher.get("value")
    shown = value if matcher.get("kind") != "exact" else json.dumps(value, ensure_ascii=False)
    if len(shown) > 200:
        shown = f"{shown[:200]}… ({len(shown)} characters)"
    return f"{matcher.get('parameter')} {KIND_WORDS.get(matcher.get('kind'), matcher.get('kind'))} {shown}"
