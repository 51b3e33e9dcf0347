"""A person's page preferences (the queue's alert sound, the time zone of every page), read and written here."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from approvals.exceptions import InvalidParameters
from lib.moments import zone_known
from review.models import ReviewerPreference


def reviewer_preference_get(*, user: AbstractBaseUser) -> ReviewerPreference:
    """The person's preferences, or the defaults (not saved) when they never changed one."""
    return ReviewerPreference.objects.filter(user=user).first() or ReviewerPreference(user=user)


def reviewer_preference_set(*, user: AbstractBaseUser, alert_sound: bool) -> ReviewerPreference:
    preference, _ = ReviewerPreference.objects.update_or_create(user=user, defaults={"alert_sound": alert_sound})
    return preference


def time_zone_set(*, user: AbstractBaseUser, time_zone: str) -> ReviewerPreference:
    """Show this person's times in `time_zone` (an IANA name such as `Europe/Berlin`) from now on."""
    if not zone_known(time_zone):
        raise InvalidParameters(f"unknown time zone {time_zone[:64]!r}: use an IANA name such as Europe/Berlin")
    preference, _ = ReviewerPreference.objects.update_or_create(user=user, defaults={"time_zone": time_zone})
    return preference
