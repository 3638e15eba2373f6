"""Help center fixtures: Acme's desk (tests/tickets/conftest.py) with the help center open on
its default department, and a client signed in as a customer (Taro, contact of Umbrella)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from helpdesk.tickets.helpcenter.models import HelpCenterSettings

LINK = re.compile(r"https?://[^\s\"<>]+/help/link/[^\s\"<>/]+/")


class CommittingClient(Client):
    """A test client whose requests run their on-commit work (mail tasks) as a real commit
    would, inside the test's transaction."""

    capture = None

    def request(self, **request):
        with self.capture(execute=True):
            return super().request(**request)


@pytest.fixture
def client(django_capture_on_commit_callbacks) -> Client:
    test_client = CommittingClient(HTTP_ACCEPT_LANGUAGE="en")
    test_client.capture = django_capture_on_commit_callbacks
    return test_client


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a service call and then its on-commit work."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def open_help_center(org, departments, **extra) -> HelpCenterSettings:
    return HelpCenterSettings.objects.update_or_create(
        org=org,
        defaults={"enabled": True, "department_ids": [d.pk for d in departments], **extra},
    )[0]


@pytest.fixture
def hc(desk) -> HelpCenterSettings:
    return open_help_center(desk.org, [desk.department])


def mailed_link(to: str) -> str:
    """The last sign-in or sign-up link mailed to `to`, as a path."""
    for message in reversed(mail.outbox):
        if to in message.to:
            match = LINK.search(message.body)
            if match:
                return "/" + match.group(0).split("/", 3)[3]
    raise AssertionError(f"no link mailed to {to}")


def sign_in(client, portal: str, email: str) -> None:
    """Sign `client` in to the portal's help center as `email`, through the mailed link."""
    response = client.post(f"/{portal}/help/signin/", {"email": email})
    assert response.status_code == 302, response.content[:2000]
    link = mailed_link(email)
    response = client.post(link)
    assert response.status_code == 302, response.content[:2000]


@pytest.fixture
def customer(client, desk, hc):
    """A client signed in to Acme's help center as Taro (desk.contact)."""
    sign_in(client, desk.org.portal, desk.contact.email)
    return client
