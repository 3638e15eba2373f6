"""A kept version of a blueprint: the snapshot of its information, states and transitions
(before / during / after settings) as one save left them, with who saved and when. Imported by
`blueprints.models` so the app registers it."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from helpdesk.tenancy.fields import TenantForeignKey
from helpdesk.tenancy.models import TenantModel


class BlueprintVersion(TenantModel):
    """Version `number` (1, 2, …) of `blueprint`; `published` when the save left it live
    (active or inactive) rather than a draft. The snapshot is plain JSON of names and settings,
    so a version stays readable after statuses or users are renamed or deleted."""

    # By name: `blueprints.models` imports this module (no import cycle).
    blueprint = TenantForeignKey(
        "blueprints.Blueprint", on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    snapshot = models.JSONField(default=dict)
    published = models.BooleanField(default=False)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["org", "blueprint", "number"], name="bp_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.blueprint_id} v{self.number}"
