"""Who may do what, from Django groups (see the roles in the README), and the one decorator
that guards a page by role."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

REVIEWERS = "reviewers"
AUDITORS = "auditors"
RULE_ADMINS = "rule_admins"

User = AbstractBaseUser | AnonymousUser


def _in_group(user: User, name: str) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    names: set[str] | None = getattr(user, "actionhub_group_names", None)
    if names is None:
        names = set(user.groups.values_list("name", flat=True))
        user.actionhub_group_names = names  # read once per user object (per request, per socket)
    return name in names


def is_reviewer(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and (user.is_superuser or _in_group(user, REVIEWERS)))


def is_auditor(user: User) -> bool:
    return bool(
        user.is_authenticated and user.is_active and (user.is_superuser or user.is_staff or _in_group(user, AUDITORS))
    )


def is_rule_admin(user: User) -> bool:
    """Members of `rule_admins`, staff and superusers may write standing rules."""
    if not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_superuser or user.is_staff or _in_group(user, RULE_ADMINS))


def can_see_rules(user: User) -> bool:
    return is_rule_admin(user) or is_reviewer(user) or is_auditor(user)


def role_required(check: Callable[[User], bool], reason: str) -> Callable[[Callable[..., HttpResponse]], Any]:
    """Log in first; then only users `check` admits (a 403 page saying `reason` for everyone else)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        @login_required
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not check(request.user):
                return render(request, "403.html", {"reason": reason}, status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
