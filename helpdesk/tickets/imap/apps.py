from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImapConfig(AppConfig):
    name = "helpdesk.tickets.imap"
    label = "imap"
    verbose_name = _("IMAP mailboxes")
