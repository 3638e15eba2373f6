"""TKT-05: one client-IP helper. X-Forwarded-For is believed only from trusted proxies, so the
address in a ticket's history cannot be forged by the client."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from django.urls import reverse

from helpdesk.http import client_ip
from helpdesk.tickets.models import Ticket, TicketHistory
from tests.conftest import login

PROXY = "10.0.0.5"


def _ip(remote_addr: str, forwarded: str | None = None) -> str | None:
    headers = {"REMOTE_ADDR": remote_addr}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **headers))


def test_tkt05_without_trusted_proxies_a_forged_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert _ip("198.51.100.7", "1.2.3.4") == "198.51.100.7"


def test_tkt05_a_forged_header_from_an_untrusted_client_is_ignored(settings):
    settings.TRUSTED_PROXIES = [PROXY]
    assert _ip("198.51.100.7", "1.2.3.4") == "198.51.100.7"


def test_tkt05_behind_a_trusted_proxy_the_real_client_is_used(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert _ip(PROXY, "198.51.100.7") == "198.51.100.7"


def test_tkt05_the_header_is_walked_from_the_right_past_trusted_hops_only(settings):
    """The client may write anything on the left; only hops our proxies added count."""
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "2001:db8::/32"]
    assert _ip(PROXY, "1.2.3.4, 198.51.100.7, 10.1.1.1") == "198.51.100.7"
    assert _ip(PROXY, "1.2.3.4, 2001:db8::1, 10.1.1.1") == "1.2.3.4"
    assert _ip(PROXY, "garbage, 198.51.100.7") == "198.51.100.7"


def test_tkt05_a_malformed_hop_stops_at_the_last_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = [PROXY]
    assert _ip(PROXY, "not-an-ip") == PROXY
    assert _ip(PROXY, "") == PROXY
    assert _ip(PROXY) == PROXY


def test_tkt05_ipv4_seen_through_a_dual_stack_socket_is_plain_ipv4(settings):
    settings.TRUSTED_PROXIES = []
    assert _ip("::ffff:198.51.100.7") == "198.51.100.7"


def test_tkt05_a_wrong_trusted_proxy_setting_is_reported(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/33"]
    with pytest.raises(ImproperlyConfigured):
        _ip(PROXY, "198.51.100.7")


def _create_ticket(client, acme, **headers) -> TicketHistory:
    login(client, acme.admin)
    response = client.post(
        reverse("desk:ticket_create", kwargs={"portal": "acme"}),
        {
            "subject": "Cannot log in",
            "department": acme.department.pk,
            "priority": "medium",
            "channel": "web",
            "contact_email": "someone@example.com",
        },
        **headers,
    )
    assert response.status_code == 302
    ticket = Ticket.objects.for_org(acme.org).get()
    return TicketHistory.objects.for_org(acme.org).get(ticket=ticket, action="created")


def test_tkt05_history_row_ignores_a_forged_forwarded_for(client, acme, settings):
    settings.TRUSTED_PROXIES = [PROXY]
    row = _create_ticket(
        client, acme, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.66"
    )
    assert row.ip_address == "198.51.100.7"


def test_tkt05_history_row_records_the_client_behind_a_trusted_proxy(client, acme, settings):
    settings.TRUSTED_PROXIES = [PROXY]
    row = _create_ticket(
        client, acme, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7"
    )
    assert row.ip_address == "198.51.100.7"
    page = client.get(reverse("desk:ticket_history", kwargs={"portal": "acme", "number": 1}))
    assert "198.51.100.7" in page.content.decode()
    assert "1.2.3.4" not in page.content.decode()
