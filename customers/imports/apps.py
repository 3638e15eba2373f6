from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomerImportsConfig(AppConfig):
    name = "customers.imports"
    label = "customer_imports"
    verbose_name = _("Customer imports")
