"""A reviewer's preferences of the live queue (desktop alert sound), read and written here."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from review.models import ReviewerPreference


def reviewer_preference_get(*, user: AbstractBaseUser) -> ReviewerPreference:
    """The reviewer's preferences, or the defaults (not saved) when they never changed one."""
    return ReviewerPreference.objects.filter(user=user).first() or ReviewerPreference(user=user)


def reviewer_preference_set(*, user: AbstractBaseUser, alert_sound: bool) -> ReviewerPreference:
    preference, _ = ReviewerPreference.objects.update_or_create(user=user, defaults={"alert_sound": alert_sound})
    return preference
