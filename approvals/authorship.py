"""Who co-wrote an action: every reviewer who edited it. The action then holds their change in every
later version, so an editor may edit again or reject it, but another reviewer must approve it."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch

from approvals.exceptions import EditedByYou
from approvals.models import Action, ActionEdit

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
