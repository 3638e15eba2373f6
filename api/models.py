"""Personal API tokens (issue 16, item 2).

A token belongs to one member of one organization and acts as that member, with their role,
in that organization only. Only a SHA-256 of the token is kept (it carries 256 random bits,
so a slow hash adds nothing); the token itself is shown once, when it is created."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.fields import MemberForeignKey
from helpdesk.tenancy.models import TenantModel


class Scope(models.TextChoices):
    READ = "read", _("Read")
    WRITE = "write", _("Write")


class ApiToken(TenantModel):
    # The member's place in the organization: leaving it deletes their tokens (the database
    # key to the membership cascades).
    user = MemberForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16)  # the token's first characters, to tell them apart
    token_hash = models.CharField(max_length=64)
    scopes = ArrayField(models.CharField(max_length=10, choices=Scope.choices))
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "token_hash"], name="api_token_org_hash_uniq")
        ]
        indexes = [models.Index(fields=["org", "user", "-created_at"], name="api_token_user")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    @property
    def can_write(self) -> bool:
        return Scope.WRITE in self.scopes
