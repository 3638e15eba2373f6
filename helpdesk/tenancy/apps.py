from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenancyConfig(AppConfig):
    name = "helpdesk.tenancy"
    label = "tenancy"
    verbose_name = _("Organizations")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the tenancy system check)
