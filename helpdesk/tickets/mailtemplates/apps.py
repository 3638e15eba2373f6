from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailTemplatesConfig(AppConfig):
    name = "helpdesk.tickets.mailtemplates"
    label = "mailtemplates"
    verbose_name = _("Mail templates")
