"""Who reviews a held action: routing it to reviewer groups, and who may then see, decide and be told.

An action's groups are chosen once, when it is held, and stored on it; an empty set means every
reviewer (the behaviour without routing). Superusers see and decide everything.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, prefetch_related_objects

from approvals.models import Action, RoutingRule
from approvals.runtime import config_version
from lib.roles import REVIEWERS, is_reviewer

NOT_ASSIGNED = "not assigned to you"


def route_group_names(*, action_type: str, skill_id: str | None) -> list[str]:
    """The groups that review held actions of this kind: an admin RoutingRule for the type and skill,
    else one for the whole type, else ACTIONHUB_ROUTING (`type:skill`, then `type`); [] for everyone."""
    rules = {
        rule.skill_id: rule
        for rule in RoutingRule.objects.filter(action_type=action_type, skill_id__in=[skill_id or "", ""])
    }
    rule = rules.get(skill_id or "") or rules.get("")
    if rule is not None:
        return sorted(rule.groups.values_list("name", flat=True))
    routing = settings.ACTIONHUB_ROUTING
    if skill_id and f"{action_type}:{skill_id}" in routing:
        return sorted(routing[f"{action_type}:{skill_id}"])
    return sorted(routing.get(action_type, []))


# Each process's copy of the routes it has resolved, (type, skill) -> groups, under the configuration
# version (approvals/runtime.py) that every routing change, and every group's rename or removal, moves.
_routes: tuple[str, dict[tuple[str, str], tuple[Group, ...]]] = ("", {})
_routes_lock = threading.Lock()


def review_groups(*, action_type: str, skill_id: str | None) -> tuple[Group, ...]:
    """The groups a held action of this kind is assigned to; () for every reviewer. A group named in
    the settings that does not exist yet is created, empty."""
    global _routes
    version = config_version()
    key = (action_type, skill_id or "")
    with _routes_lock:
        if _routes[0] != version:
            _routes = (version, {})
        cached = _routes[1].get(key)
    if cached is not None:
        return cached
    names = route_group_names(action_type=action_type, skill_id=skill_id)
    # A group named in the settings but not created yet is created empty: only superusers see
    # the action until an administrator adds members, rather than every reviewer seeing it.
    found = [Group.objects.get_or_create(name=name) for name in names]
    groups = tuple(group for group, _ in found)
    # A group created here inside a transaction exists only once it commits: not kept until read back.
    if not any(created for _, created in found):
        with _routes_lock:
            if _routes[0] == version:
                _routes[1][key] = groups
    return groups


def routes_forget() -> None:
    """Drop this process's routes (ACTIONHUB_ROUTING changed under a test)."""
    global _routes
    with _routes_lock:
        _routes = ("", {})


def action_assign(*, action: Action, groups: tuple[Group, ...] | None = None) -> list[str]:
    """Store the groups that review `action` (`groups`, looked up if not given), now. The rows are
    written in action_create's transaction, so a later routing change never reassigns actions
    already waiting."""
    if groups is None:
        groups = review_groups(action_type=action.action_type, skill_id=action.skill_id)
    if groups:
        # A new action has no groups yet: one insert, not the read-then-insert of `add`.
        through = Action.assigned_groups.through
        through.objects.bulk_create([through(action_id=action.id, group_id=group.id) for group in groups])
    action.assigned_group_list = list(groups)  # as assigned_names would prefetch them
    return sorted(group.name for group in groups)


def assigned_names(action: Action) -> list[str]:
    """The names of the groups `action` is routed to, sorted; [] when every reviewer may decide it."""
    if getattr(action, "assigned_group_list", None) is None:
        prefetch_related_objects([action], Prefetch("assigned_groups", to_attr="assigned_group_list"))
    return sorted(group.name for group in action.assigned_group_list)


def escalation_time(*, created_at: datetime, expires_at: datetime | None) -> datetime | None:
    """When a held action created at `created_at` is escalated if still undecided; None if never
    (no expiry, or the wait configured is not shorter than its expiry window)."""
    if expires_at is None:
        return None
    after: timedelta = settings.ACTIONHUB_ESCALATE_AFTER or (expires_at - created_at) / 2
    moment = created_at + after
    return moment if moment < expires_at else None


# Who may see and decide


def user_group_ids(user: AbstractBaseUser | AnonymousUser) -> frozenset[int]:
    if not user.is_authenticated:
        return frozenset()
    cached: frozenset[int] | None = getattr(user, "actionhub_group_ids", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("id", flat=True))
        user.actionhub_group_ids = cached  # read once per user object (per request, per socket)
    return cached


@dataclass(frozen=True)
class Viewer:
    """What decides which routed actions a reviewer sees: superuser, or their group ids."""

    superuser: bool
    group_ids: frozenset[int]

    @property
    def key(self) -> str:
        """Viewers with equal keys see the same actions (they share rendered counts)."""
        return "*" if self.superuser else ",".join(str(group_id) for group_id in sorted(self.group_ids))

    def sees(self, assigned: frozenset[int]) -> bool:
        return self.superuser or not assigned or bool(assigned & self.group_ids)

    def assigned_to(self, assigned: frozenset[int]) -> bool:
        return bool(assigned & self.group_ids)


def viewer_for(user: AbstractBaseUser | AnonymousUser) -> Viewer:
    return Viewer(superuser=bool(user.is_superuser), group_ids=user_group_ids(user))


def _assignments() -> QuerySet:
    return Action.assigned_groups.through.objects.filter(action_id=OuterRef("pk"))


def reviewable_by(viewer: Viewer) -> Q:
    """The actions `viewer` may review: unrouted ones and those routed to one of their groups."""
    if viewer.superuser:
        return Q(pk__isnull=False)  # every action; an empty Q() would vanish when OR-ed with another
    return Q(~Exists(_assignments())) | Q(Exists(_assignments().filter(group_id__in=viewer.group_ids)))


def visible_to(queryset: QuerySet[Action], viewer: Viewer) -> QuerySet[Action]:
    """Only the actions `viewer` may review: unrouted ones and those routed to one of their groups."""
    return queryset.filter(reviewable_by(viewer))


def assigned_to(queryset: QuerySet[Action], viewer: Viewer) -> QuerySet[Action]:
    """Only the actions routed to one of `viewer`'s groups (the queue's "assigned to me")."""
    return queryset.filter(Exists(_assignments().filter(group_id__in=viewer.group_ids)))


# Inside `assignments_prefetched`: the assigned group ids of many actions, read in one query.
_prefetched: contextvars.ContextVar[dict[UUID, frozenset[int]] | None] = contextvars.ContextVar(
    "prefetched_assignments", default=None
)


@contextlib.contextmanager
def assignments_prefetched(action_ids: list[UUID]) -> Iterator[None]:
    """Read the groups of many actions at once for the decisions that follow (a bulk decision).

    Safe to read ahead: groups are only ever added (by escalation), so a stale read can refuse a
    reviewer who was just added, never admit one who was not.
    """
    token = _prefetched.set(assigned_ids_by_action(action_ids))
    try:
        yield
    finally:
        _prefetched.reset(token)


def assigned_group_ids(action: Action) -> frozenset[int]:
    cached: frozenset[int] | None = getattr(action, "assigned_group_id_set", None)
    prefetched = _prefetched.get()
    if cached is None and prefetched is not None and action.pk in prefetched:
        cached = prefetched[action.pk]
    if cached is None:
        # The link table alone (no join to auth_group): this runs in every decision's transaction.
        links = Action.assigned_groups.through.objects.filter(action_id=action.pk)
        cached = frozenset(links.values_list("group_id", flat=True))
        action.assigned_group_id_set = cached
    return cached


def may_review(*, user: AbstractBaseUser | AnonymousUser, action: Action) -> bool:
    """A reviewer in one of the action's groups (any reviewer when it has none), or a superuser."""
    if not is_reviewer(user):
        return False
    return bool(user.is_superuser) or viewer_for(user).sees(assigned_group_ids(action))


def assigned_names_by_action(action_ids: list[UUID]) -> dict[UUID, list[str]]:
    """The assigned group names of many actions in one query; [] for unrouted ones."""
    grouped: dict[UUID, list[str]] = {action_id: [] for action_id in action_ids}
    rows = (
        Action.assigned_groups.through.objects.filter(action_id__in=action_ids)
        .order_by("group__name")
        .values_list("action_id", "group__name")
    )
    for action_id, name in rows:
        grouped[action_id].append(name)
    return grouped


def assigned_ids_by_action(action_ids: list[UUID]) -> dict[UUID, frozenset[int]]:
    """The assigned group ids of many actions in one query; empty for unrouted ones."""
    grouped: dict[UUID, set[int]] = {action_id: set() for action_id in action_ids}
    rows = Action.assigned_groups.through.objects.filter(action_id__in=action_ids).values_list("action_id", "group_id")
    for action_id, group_id in rows:
        grouped[action_id].add(group_id)
    return {action_id: frozenset(ids) for action_id, ids in grouped.items()}


def action_reviewers(action: Action) -> QuerySet[Any]:
    """Active users who may decide `action`, except its requester: superusers, and reviewers in one
    of its groups (every reviewer when it has none)."""
    users = get_user_model().objects.filter(is_active=True).exclude(pk=action.requested_by_id)
    reviewers = Q(pk__in=Group.objects.filter(name=REVIEWERS).values("user"))
    assigned = assigned_group_ids(action)
    if assigned:
        reviewers &= Q(pk__in=Group.objects.filter(id__in=assigned).values("user"))
    return users.filter(Q(is_superuser=True) | reviewers)
