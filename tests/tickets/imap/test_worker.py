"""TKT-07: the beat sweep and the per-mailbox poll run on a real Celery worker over Redis, under
row-level security (ScopedTask), against the tests' own dovecot."""

from __future__ import annotations

import time

import pytest

from helpdesk.tickets.imap.models import Mailbox
from helpdesk.tickets.imap.tasks import imap_poll_due_task, imap_poll_mailbox_task
from helpdesk.tickets.models import Ticket
from tests.integration.test_celery_worker import redis_worker  # noqa: F401 (a fixture)

from .conftest import append, mailbox_for, make_message


def _subjects(org) -> list[str]:
    return sorted(Ticket.objects.for_org(org).values_list("subject", flat=True))


@pytest.mark.django_db(transaction=True)
def test_tkt07_mailboxes_are_polled_by_a_real_worker(redis_worker, acme, globex, dovecot):  # noqa: F811
    acme_account, globex_account = dovecot.add_user(), dovecot.add_user()
    append(dovecot.connect(*acme_account), make_message("Acme's printer"))
    append(dovecot.connect(*globex_account), make_message("Globex's fax"))
    acme_box = mailbox_for(acme, dovecot, acme_account)
    mailbox_for(globex, dovecot, globex_account)

    # The beat task: one poll per due mailbox, each in its own organization.
    assert imap_poll_due_task.delay().get(timeout=30) == 2
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (_subjects(acme.org) and _subjects(globex.org)):
        time.sleep(0.2)
    assert _subjects(acme.org) == ["Acme's printer"]
    assert _subjects(globex.org) == ["Globex's fax"]

    # One mailbox's task directly: new mail only, nothing read twice.
    append(dovecot.connect(*acme_account), make_message("Acme's scanner"))
    result = imap_poll_mailbox_task.delay(acme.org.pk, acme_box.pk).get(timeout=30)
    assert result == {"outcome": "polled", "read": 1, "outcomes": {"created": 1}}
    assert imap_poll_mailbox_task.delay(acme.org.pk, acme_box.pk).get(timeout=30)["read"] == 0
    assert _subjects(acme.org) == ["Acme's printer", "Acme's scanner"]
    assert Mailbox.objects.for_org(acme.org).get(pk=acme_box.pk).last_uid == 2
