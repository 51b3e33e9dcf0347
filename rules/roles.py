"""Who may write standing rules: members of `rule_admins`, staff and superusers."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from approvals.roles import _in_group, is_auditor, is_reviewer

RULE_ADMINS = "rule_admins"


def is_rule_admin(user: AbstractBaseUser | AnonymousUser) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_superuser or user.is_staff or _in_group(user, RULE_ADMINS))


def can_see_rules(user: AbstractBaseUser | AnonymousUser) -> bool:
    return is_rule_admin(user) or is_reviewer(user) or is_auditor(user)
