"""Login throttling (django-axes): wrong passwords are counted per account and per IP address;
past the limit even the right password is refused until the cool-off ends."""

import pytest
from django.test import Client
from django.urls import reverse

from .factories import UserFactory


@pytest.fixture
def user(db):
    user = UserFactory(username="lead@studio.test")
    user.set_password("the-right-one")
    user.save()
    return user


def attempt(client, username, password, ip="203.0.113.7"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_thirty_wrong_passwords_get_blocked(user, settings):
    client = Client()
    statuses = [attempt(client, user.username, f"guess-{i}").status_code for i in range(30)]
    limit = settings.AXES_FAILURE_LIMIT
    assert statuses[: limit - 1] == [200] * (limit - 1)  # the form again, with its error
    assert set(statuses[limit:]) == {429}
    # Locked: the right password is refused too, and no session is opened.
    response = attempt(client, user.username, "the-right-one")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_account_is_locked_from_any_address(user, settings):
    for i in range(settings.AXES_FAILURE_LIMIT):
        attempt(Client(), user.username, "wrong", ip=f"198.51.100.{i + 1}")
    assert attempt(Client(), user.username, "the-right-one", ip="192.0.2.99").status_code == 429


def test_one_address_is_locked_whatever_the_account(user, settings):
    for i in range(settings.AXES_FAILURE_LIMIT):
        attempt(Client(), f"nobody-{i}@studio.test", "wrong", ip="203.0.113.50")
    assert attempt(Client(), user.username, "the-right-one", ip="203.0.113.50").status_code == 429
    ok = attempt(Client(), user.username, "the-right-one", ip="203.0.113.51")
    assert ok.status_code == 302


def test_a_few_mistakes_then_the_right_password_logs_in(user):
    client = Client()
    for _ in range(3):
        attempt(client, user.username, "wrong")
    response = attempt(client, user.username, "the-right-one")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
