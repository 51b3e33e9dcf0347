"""Template helpers for the audit pages and the navigation."""

from __future__ import annotations

from django import template
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from lib.roles import is_auditor

register = template.Library()


@register.filter(name="is_auditor")
def is_auditor_filter(user: AbstractBaseUser | AnonymousUser) -> bool:
    return is_auditor(user)
