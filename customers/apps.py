from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from helpdesk.tenancy.exports import export_section_register

        from .exports import user_customer_data

        export_section_register("customers", user_customer_data)
