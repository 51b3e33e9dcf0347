"""Who co-wrote an action: every reviewer who edited it. The action then holds their change in every
later version, so an editor may edit again or reject it, but another reviewer must approve it."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch

from approvals.exceptions import EditedByYou
from approvals.models import Action, ActionEdit

# A value longer than this is cut in a sentence: the full parameters are on the page beside it.
WORDS_VALUE_CHARS = 120
NONE_WORD = "(not set)"

EDITED_BY_YOU = "you edited this action, so another reviewer must decide whether it runs; you may still reject it"


def edits_prefetch() -> Prefetch:
    """The edits of many actions with their authors, oldest first, in one query, as `edit_list`."""
    return Prefetch(
        "edits", queryset=ActionEdit.objects.select_related("user").order_by("at", "id"), to_attr="edit_list"
    )


def action_edits(action: Action) -> list[ActionEdit]:
    prefetched = getattr(action, "edit_list", None)
    if prefetched is not None:
        return prefetched
    return list(action.edits.select_related("user").order_by("at", "id"))


def action_editors(action: Action) -> list[str]:
    """The usernames of everyone who edited `action`, in the order of their first edit."""
    return list(dict.fromkeys(edit.user.get_username() for edit in action_edits(action)))


def editor_approval_refuse(*, action: Action, user: AbstractBaseUser) -> None:
    """EditedByYou (403) when `user` ever edited `action`. Read from the database, not a prefetch:
    in a decision it runs under the action's row lock, which every edit takes too."""
    if ActionEdit.objects.filter(action_id=action.pk, user_id=user.pk).exists():
        raise EditedByYou(EDITED_BY_YOU)


def diff_in_words(diff: dict[str, Any]) -> list[str]:
    """An edit's diff (services.parameters_diff) as one line per parameter, `field: before → after`,
    in parameter order; a parameter added or removed is `(not set)` on its missing side."""
    changes = {
        **{key: (NONE_WORD, _value_words(value)) for key, value in (diff.get("added") or {}).items()},
        **{key: (_value_words(value), NONE_WORD) for key, value in (diff.get("removed") or {}).items()},
        **{
            key: (_value_words(change.get("old")), _value_words(change.get("new")))
            for key, change in (diff.get("changed") or {}).items()
        },
    }
    return [f"{key}: {before} → {after}" for key, (before, after) in sorted(changes.items())]


def _value_words(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= WORDS_VALUE_CHARS else f"{text[:WORDS_VALUE_CHARS]}… ({len(text)} characters)"
