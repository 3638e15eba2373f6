"""`python manage.py mail_ingest --portal <portal> [--department <id>] [FILE|-]` (TKT-07).

Reads one raw message from FILE or standard input and hands it to `mailin.services.ingest`:
what a mail server's pipe runs for each message (see the README). Prints one line (the
outcome, the ticket number, the reason) and exits with a status a mail server understands:

    0   taken (created, appended, duplicate, ignored, or held for an admin: never dropped)
    64  bad usage (EX_USAGE): no such department
    65  too large (EX_DATAERR): the mail server bounces it to the sender
    66  the file cannot be read (EX_NOINPUT)
    67  no such portal (EX_NOUSER): the mail server bounces it
    75  a temporary failure (EX_TEMPFAIL: the database is down): the mail server retries
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from helpdesk.tenancy.models import Department, Organization
from helpdesk.tenancy.rls import tenant_scope
from helpdesk.tickets.mailin.models import Source
from helpdesk.tickets.mailin.services import ingest, max_message_bytes

EX_USAGE, EX_DATAERR, EX_NOINPUT, EX_NOUSER, EX_TEMPFAIL = 64, 65, 66, 67, 75


class Command(BaseCommand):
    help = "Take one incoming email (a file, or standard input) for an organization."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--portal", required=True, help="the organization's portal name")
        parser.add_argument("--department", type=int, help="open new tickets in this department")
        parser.add_argument("file", nargs="?", default="-", help="the message file, or - (stdin)")

    def handle(self, *args, **options) -> None:
        limit = max_message_bytes()
        raw = self._read(options["file"], limit)
        if len(raw) > limit:
            raise CommandError(
                f"refused: the message is larger than {limit} bytes", returncode=EX_DATAERR
            )
        try:
            org = Organization.objects.filter(portal=options["portal"]).first()
            if org is None:
                raise CommandError(f"no portal {options['portal']!r}", returncode=EX_NOUSER)
            department = None
            if options["department"] is not None:
                with tenant_scope(org.pk):
                    department = (
                        Department.objects.for_org(org).filter(pk=options["department"]).first()
                    )
                if department is None:
                    raise CommandError(
                        f"no department {options['department']} in {org.portal}",
                        returncode=EX_USAGE,
                    )
            result = ingest(org, raw, source=Source.COMMAND, department=department)
        except DatabaseError as exc:
            raise CommandError(f"temporary failure: {exc}", returncode=EX_TEMPFAIL) from exc
        self.stdout.write(result.line())

    def _read(self, name: str, limit: int) -> bytes:
        try:
            if name == "-":
                return sys.stdin.buffer.read(limit + 1)
            with open(name, "rb") as handle:
                return handle.read(limit + 1)
        except OSError as exc:
            raise CommandError(f"cannot read {name}: {exc}", returncode=EX_NOINPUT) from exc
