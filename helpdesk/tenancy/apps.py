from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _rls_sync(sender, using: str, **kwargs) -> None:
    """After every migrate: roles, grants and a policy on every tenant table (rls.py)."""
    from . import rls

    rls.sync(using=using)


class TenancyConfig(AppConfig):
    name = "helpdesk.tenancy"
    label = "tenancy"
    verbose_name = _("Organizations")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the tenancy system checks)

        post_migrate.connect(_rls_sync, sender=self, dispatch_uid="tenancy.rls_sync")
