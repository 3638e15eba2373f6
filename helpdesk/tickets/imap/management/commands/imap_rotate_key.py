"""Re-encrypt every IMAP mailbox password with the first key of MAIL_PASSWORD_KEY.

Rotation: set MAIL_PASSWORD_KEY="new,old" everywhere, run this, then drop "old"."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from helpdesk.tickets.imap.services import mailbox_passwords_rotate


class Command(BaseCommand):
    help = "Re-encrypt every IMAP mailbox password with the first key of MAIL_PASSWORD_KEY."

    def handle(self, *args, **options) -> None:
        rotated, unreadable = mailbox_passwords_rotate()
        self.stdout.write(f"re-encrypted {rotated} password(s)")
        if unreadable:
            self.stderr.write(
                f"{unreadable} password(s) were made with a key that is no longer listed: "
                "enter them again in Setup > IMAP mailboxes"
            )
