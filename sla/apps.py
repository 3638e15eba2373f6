from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    name = "sla"
    label = "sla"
    verbose_name = _("SLAs")

    def ready(self) -> None:
        # The SLA step joins the tickets app's pipeline (TKT-09) and the blueprint engine's
        # state-visit listeners through their registries: neither imports sla.
        from . import hooks

        hooks.connect()
