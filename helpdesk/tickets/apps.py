from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "helpdesk.tickets"
    label = "tickets"
    verbose_name = _("Tickets")

    def ready(self) -> None:
        from helpdesk.tenancy.exports import export_section_register

        from .exports import user_desk_data

        export_section_register("desk", user_desk_data)
