"""TKT-07: `manage.py mail_ingest`, as a mail server's pipe runs it: one message from a file
or standard input, one line of output, an exit status the mail server understands."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from helpdesk.tickets.mailin.models import InboundMessage
from helpdesk.tickets.models import Ticket

from .conftest import CORPUS, corpus

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.django_db
def test_tkt07_command_takes_a_file(acme, support):
    out = io.StringIO()
    call_command(
        "mail_ingest", "--portal", "acme", str(CORPUS / "gmail_alternative.eml"), stdout=out
    )
    ticket = Ticket.objects.for_org(acme.org).get()
    assert out.getvalue().strip() == f"created #{ticket.number}"
    assert InboundMessage.objects.for_org(acme.org).get().source == "command"


@pytest.mark.django_db
def test_tkt07_command_takes_standard_input_and_a_department(acme, support, sales, monkeypatch):
    stdin = io.TextIOWrapper(io.BytesIO(corpus("iso2022jp_windows_chars.eml")))
    monkeypatch.setattr(sys, "stdin", stdin)
    out = io.StringIO()
    call_command("mail_ingest", "--portal", "acme", "--department", str(sales.pk), "-", stdout=out)
    ticket = Ticket.objects.for_org(acme.org).get()
    assert ticket.department == sales and ticket.subject == "①ログイン不可の件"


@pytest.mark.django_db
def test_tkt07_command_refuses_unknown_portal_department_and_oversized_mail(acme, globex, settings):
    with pytest.raises(CommandError) as missing:
        call_command("mail_ingest", "--portal", "nowhere", str(CORPUS / "gmail_alternative.eml"))
    assert missing.value.returncode == 67
    with pytest.raises(CommandError) as foreign:  # another organization's department
        call_command(
            "mail_ingest",
            "--portal",
            "acme",
            "--department",
            str(globex.department.pk),
            str(CORPUS / "gmail_alternative.eml"),
        )
    assert foreign.value.returncode == 64
    settings.MAILIN_MAX_BYTES = 100
    with pytest.raises(CommandError) as large:
        call_command("mail_ingest", "--portal", "acme", str(CORPUS / "gmail_alternative.eml"))
    assert large.value.returncode == 65
    with pytest.raises(CommandError) as unreadable:
        call_command("mail_ingest", "--portal", "acme", "/no/such/file.eml")
    assert unreadable.value.returncode == 66
    assert not Ticket.objects.for_org(acme.org).exists()


@pytest.mark.django_db(transaction=True)
def test_tkt07_command_in_a_mail_servers_pipe(acme, support, tmp_path):
    """The way Postfix's pipe runs it: a separate process reading the message on stdin."""
    database = django_settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    env.pop("DATABASE_USER", None)

    def pipe(raw: bytes) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "mail_ingest", "--portal", "acme"],
            input=raw,
            capture_output=True,
            cwd=ROOT,
            env=env,
            timeout=120,
            check=False,
        )

    first = pipe(corpus("shift_jis_mislabelled.eml"))
    assert first.returncode == 0, first.stderr
    ticket = Ticket.objects.for_org(acme.org).get()
    assert first.stdout.decode().strip() == f"created #{ticket.number}"
    assert ticket.subject == "請求書の金額について（№１２３）"
    again = pipe(corpus("shift_jis_mislabelled.eml"))
    assert (again.returncode, again.stdout.decode().strip()) == (
        0,
        f"duplicate #{ticket.number}: already received",
    )
    bounce = pipe(corpus("bounce_report.eml"))
    assert bounce.returncode == 0 and bounce.stdout.decode().startswith("ignored: bounce")
    nowhere = subprocess.run(
        [sys.executable, "manage.py", "mail_ingest", "--portal", "nowhere"],
        input=b"x",
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    assert nowhere.returncode == 67


@pytest.mark.django_db
def test_tkt07_a_held_message_keeps_the_department_it_was_sent_for(acme, support, sales):
    from helpdesk.tickets.mailin.services import held_retry

    out = io.StringIO()
    raw = CORPUS / "gmail_alternative.eml"
    sales.is_enabled = False
    sales.save(update_fields=["is_enabled"])
    support.is_enabled = False
    support.save(update_fields=["is_enabled"])
    call_command(
        "mail_ingest", "--portal", "acme", "--department", str(sales.pk), str(raw), stdout=out
    )
    assert out.getvalue().startswith("held")
    sales.is_enabled = support.is_enabled = True
    sales.save(update_fields=["is_enabled"])
    support.save(update_fields=["is_enabled"])
    entry = InboundMessage.objects.for_org(acme.org).get()
    assert held_retry(actor=acme.admin, entry=entry).ticket.department == sales
