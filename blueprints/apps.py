from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BlueprintsConfig(AppConfig):
    name = "blueprints"
    label = "blueprints"
    verbose_name = _("Blueprints")

    def ready(self) -> None:
        # The engine's steps join the tickets app's registries (TKT-09 pipeline, incoming
        # threads, ratings, restricted mode): tickets never imports blueprints.
        from . import hooks

        hooks.connect()
