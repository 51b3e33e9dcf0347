"""The queue's alert sound preference: off by default, per reviewer, changed only by a POST."""

from __future__ import annotations

from django.test import Client

from review.models import ReviewerPreference

URL = "/approvals/preferences/alert-sound/"


def logged_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def test_it_keeps_the_sound_off_until_a_reviewer_turns_it_on(bob, carol):
    assert 'id="alert-sound" checked' not in logged_in(bob).get("/approvals/").content.decode()

    response = logged_in(bob).post(URL, {"sound": "on"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'id="alert-sound" checked' in response.content.decode()
    assert 'id="alert-sound" checked' in logged_in(bob).get("/approvals/").content.decode()
    assert 'id="alert-sound" checked' not in logged_in(carol).get("/approvals/").content.decode()

    assert logged_in(bob).post(URL, {}).status_code == 302  # without htmx: back to the queue
    assert ReviewerPreference.objects.get(user=bob).alert_sound is False


def test_it_refuses_the_preference_to_others_and_to_a_get(alice, bob):
    assert logged_in(alice).post(URL, {"sound": "on"}).status_code == 403
    assert Client().post(URL, {"sound": "on"}).status_code == 302
    assert logged_in(bob).get(URL).status_code == 405
    assert logged_in(bob, enforce_csrf_checks=True).post(URL, {"sound": "on"}).status_code == 403
    assert not ReviewerPreference.objects.exists()
