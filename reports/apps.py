from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    label = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        # The blueprint report keeps one row per state visit (BP-26): it hears of every move
        # through the engine's state-visit registry, so blueprints imports nothing of ours.
        from blueprints.visits import visit_listen

        from .visits import visit_recorded

        visit_listen(visit_recorded)
