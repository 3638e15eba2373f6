from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomerAttachmentsConfig(AppConfig):
    name = "customers.attachments"
    label = "customer_attachments"
    verbose_name = _("Customer notes and files")
