"""Personal API tokens (issue 16, item 2).

A token belongs to one member of one organization and acts as that member, with their role,
in that organization only. Only a SHA-256 of the token is kept (it carries 256 random bits,
so a slow hash adds nothing); the token itself is shown once, when it is created."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from helpdesk.tenancy.fields import MemberForeignKey, TenantForeignKey
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


# --- Webhooks (issue 16, item 4) --------------------------------------------------------------
class WebhookEvent(models.TextChoices):
    TICKET_CREATED = "ticket.created", _("Ticket created")
    TICKET_UPDATED = "ticket.updated", _("Ticket updated")
    TICKET_REPLIED = "ticket.replied", _("Ticket replied")
    TRANSITION_COMPLETED = "ticket.transition_completed", _("Blueprint transition completed")
    SLA_ESCALATED = "ticket.sla_escalated", _("SLA escalated")
    RATING_RECEIVED = "ticket.rated", _("Rating received")
    CHAT_ENDED = "chat.ended", _("Chat ended")


PING_EVENT = "ping"  # "Send test": not subscribable


class WebhookSubscription(TenantModel):
    """An admin's subscription of a URL to events. Payloads are signed with the
    subscription's own secret (encrypted at rest, like mailbox passwords; shown once, when it
    is made or rotated). `consecutive_failures` counts deliveries that failed after their
    last try; at the limit the subscription is disabled (`disabled_at`, `disabled_reason`)."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    events = ArrayField(models.CharField(max_length=40, choices=WebhookEvent.choices))
    secret_encrypted = models.TextField()
    is_active = models.BooleanField(_("active"), default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["org", "is_active"], name="api_webhook_active")]

    def __str__(self) -> str:
        return self.name


class DeliveryState(models.TextChoices):
    PENDING = "pending", pgettext_lazy("webhook delivery", "Pending")
    DELIVERED = "delivered", pgettext_lazy("webhook delivery", "Delivered")
    FAILED = "failed", pgettext_lazy("webhook delivery", "Failed")


class WebhookDelivery(TenantModel):
    """One event for one subscription: the signed payload, sent (and retried) by a task. The
    `uuid` goes with every try (header `X-Madoguchi-Delivery`) so a receiver can drop a
    repeat."""

    subscription = TenantForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    uuid = models.UUIDField(default=uuid.uuid4, editable=False)
    event = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["org", "subscription", "-created_at"], name="api_webhook_delivery")
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscription_id}: {self.state}"


class WebhookAttempt(TenantModel):
    """One try of a delivery, for the delivery log: the answer's status and first characters,
    how long it took, or what went wrong."""

    delivery = TenantForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="tries")
    number = models.PositiveSmallIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    ok = models.BooleanField(default=False)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["org", "delivery"], name="api_webhook_attempt")]

    def __str__(self) -> str:
        return f"try {self.number} of {self.delivery_id}"
