from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmsyncConfig(AppConfig):
    name = "crmsync"
    label = "crmsync"
    verbose_name = _("CRM")

    def ready(self) -> None:
        from django.db import transaction
        from django.db.models.signals import post_delete, post_save

        from customers.services import record_change_listen

        from .connector import desk_integrations_forget
        from .models import Integration
        from .services.integration import state_listen
        from .services.outbox import desk_changed
        from .services.sync_jobs import on_transition

        # CRM-04: desk-side changes reach the sync's outbox (customers never imports us).
        record_change_listen(desk_changed)
        state_listen(on_transition)
        # CRM-17: the desk's rules read the CRM's data about a ticket's customer.
        from . import classification

        classification.register()

        # CRM-14: sales signals follow the desk tickets' history (tickets never imports us).
        from helpdesk.tickets.services.history import history_listen

        from .signals import history_recorded

        history_listen(history_recorded)

        def forget(sender, instance, **kwargs):
            desk_integrations_forget(instance.desk_org_id)
            transaction.on_commit(lambda: desk_integrations_forget(instance.desk_org_id))

        # weak=False: `forget` is local to ready(); a weak reference would lose it at once.
        post_save.connect(
            forget, sender=Integration, weak=False, dispatch_uid="crmsync-desk-forget"
        )
        post_delete.connect(
            forget, sender=Integration, weak=False, dispatch_uid="crmsync-desk-forget-del"
        )
