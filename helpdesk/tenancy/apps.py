from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _schema_sync(sender, using: str, **kwargs) -> None:
    """After every migrate: the composite keys (keys.py), then the roles, grants and a policy
    on every tenant table (rls.py). Both are idempotent and cover new tables by construction."""
    from . import keys, rls

    keys.sync(using=using)
    rls.sync(using=using)


class TenancyConfig(AppConfig):
    name = "helpdesk.tenancy"
    label = "tenancy"
    verbose_name = _("Organizations")

    def ready(self) -> None:
        from helpdesk.mail import use_b_encoded_headers

        from . import checks  # noqa: F401  (registers the tenancy system checks)

        use_b_encoded_headers()

        post_migrate.connect(_schema_sync, sender=self, dispatch_uid="tenancy.schema_sync")
