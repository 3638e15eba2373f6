"""Subscriptions (saved, deleted, their secret rotated, a test sent), events turned into
deliveries, and one try of a delivery (issue 16, item 4)."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from helpdesk import webhooks
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import App, Membership, Organization
from helpdesk.tenancy.permissions import ensure_app_admin
from helpdesk.tickets import pipeline
from helpdesk.tickets.imap.crypto import decrypt, encrypt

from ..models import (
    PING_EVENT,
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)

log = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
EXCERPT_CHARS = 500
MAX_SUBSCRIPTIONS = 20  # per organization
KEEP_DELIVERIES = 200  # per subscription, in the delivery log
EVENT_HEADER = "X-Madoguchi-Event"
DELIVERY_HEADER = "X-Madoguchi-Delivery"


class Outcome:
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"


def disable_after() -> int:
    """Consecutive failed deliveries (each after its last try) that disable a subscription."""
    return int(getattr(settings, "WEBHOOK_DISABLE_AFTER", 5))


# --- Which events an organization listens to (cached: asked on every ticket change) ----------
def _events_key(org_id: int) -> str:
    return f"api:webhook-events:{org_id}"


def subscribed_events(org_id: int) -> frozenset[str]:
    """The events the organization's active subscriptions take (from the cache; once per
    `pipeline.batch()`, as when many history rows are written at once)."""
    return pipeline.cached(("webhook-events", org_id), lambda: _subscribed_events(org_id))


def _subscribed_events(org_id: int) -> frozenset[str]:
    key = _events_key(org_id)
    found = cache.get(key)
    if found is None:
        rows = WebhookSubscription.objects.for_org(org_id).filter(is_active=True)
        found = sorted({e for events in rows.values_list("events", flat=True) for e in events})
        cache.set(key, found, 24 * 3600)
    return frozenset(found)


def _forget_events(org_id: int) -> None:
    cache.delete(_events_key(org_id))
    transaction.on_commit(lambda: cache.delete(_events_key(org_id)))


# --- Subscriptions -----------------------------------------------------------------------------
def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def subscription_secret(subscription: WebhookSubscription) -> str:
    return decrypt(subscription.secret_encrypted)


def url_check(url: str) -> str:
    """The URL, or a ValidationError for `url` saying why it may not receive webhooks: the
    scheme, and every address its host resolves to (not private, loopback or link-local
    unless the setting allows them)."""
    url = (url or "").strip()
    if not url:
        raise ValidationError({"url": [_("Enter the URL that receives the events.")]})
    try:
        webhooks.resolve_target(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE_TARGETS)
    except webhooks.UnsafeTarget as exc:
        raise ValidationError(
            {"url": [_("This address may not receive webhooks: %(why)s") % {"why": exc}]}
        ) from exc
    except webhooks.DeliveryFailed as exc:
        raise ValidationError(
            {"url": [_("This address cannot be reached: %(why)s") % {"why": exc}]}
        ) from exc
    return url


def _clean(name: str, url: str, events: Iterable[str]) -> tuple[str, str, list[str]]:
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("Give the webhook a name.")]
    elif len(name) > 100:
        errors["name"] = [_("Use at most 100 characters.")]
    wanted = set(events or [])
    if not wanted:
        errors["events"] = [_("Choose at least one event.")]
    elif not wanted <= set(WebhookEvent.values):
        errors["events"] = [_("Choose events from the list.")]
    if len(url or "") > 500:
        errors["url"] = [_("Use at most 500 characters.")]
    else:
        try:
            url = url_check(url)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return name, url, [e for e in WebhookEvent.values if e in wanted]


@transaction.atomic
def subscription_create(
    *, actor: Membership, name: str, url: str, events: Iterable[str]
) -> tuple[WebhookSubscription, str]:
    """A new subscription and its secret (shown once)."""
    ensure_app_admin(actor, App.DESK)
    name, url, chosen = _clean(name, url, events)
    if WebhookSubscription.objects.for_org(actor.org).count() >= MAX_SUBSCRIPTIONS:
        raise ValidationError(
            {
                "name": [
                    _("An organization can have %(count)d webhooks.") % {"count": MAX_SUBSCRIPTIONS}
                ]
            }
        )
    secret = _new_secret()
    subscription = WebhookSubscription.objects.create(
        org=actor.org,
        name=name,
        url=url,
        events=chosen,
        secret_encrypted=encrypt(secret),
        created_by=actor.user,
    )
    _forget_events(actor.org.pk)
    return subscription, secret


@transaction.atomic
def subscription_update(
    *,
    actor: Membership,
    subscription: WebhookSubscription,
    name: str,
    url: str,
    events: Iterable[str],
    is_active: bool,
) -> WebhookSubscription:
    """Change a subscription. Turning a disabled one on again starts its failure count anew."""
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, subscription)
    name, url, chosen = _clean(name, url, events)
    subscription.name, subscription.url, subscription.events = name, url, chosen
    if is_active and not subscription.is_active:
        subscription.consecutive_failures = 0
        subscription.disabled_at = None
        subscription.disabled_reason = ""
    subscription.is_active = is_active
    subscription.save()
    _forget_events(actor.org.pk)
    return subscription


@transaction.atomic
def subscription_delete(*, actor: Membership, subscription: WebhookSubscription) -> None:
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, subscription)
    subscription.delete()
    _forget_events(actor.org.pk)


@transaction.atomic
def subscription_secret_rotate(*, actor: Membership, subscription: WebhookSubscription) -> str:
    """A new secret (shown once); the old one signs nothing from now on."""
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, subscription)
    secret = _new_secret()
    subscription.secret_encrypted = encrypt(secret)
    subscription.save(update_fields=["secret_encrypted", "updated_at"])
    return secret


def subscription_ping(*, actor: Membership, subscription: WebhookSubscription) -> WebhookDelivery:
    """ "Send test": a `ping` delivered like any event (also to a disabled subscription, to
    check a repaired receiver before turning it on again)."""
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, subscription)
    with transaction.atomic():
        delivery = _delivery(
            subscription,
            PING_EVENT,
            {"webhook": {"id": subscription.pk, "name": subscription.name}},
            actor.org.portal,
        )
        _enqueue([delivery])
    delivery.refresh_from_db()
    return delivery


# --- Events → deliveries ----------------------------------------------------------------------
def _delivery(
    subscription: WebhookSubscription, event: str, data: Mapping[str, Any], portal: str
) -> WebhookDelivery:
    delivery = WebhookDelivery(org_id=subscription.org_id, subscription=subscription, event=event)
    delivery.payload = {
        "id": str(delivery.uuid),
        "event": event,
        "created_at": timezone.now().isoformat(),
        "organization": portal,
        "data": dict(data),
    }
    delivery.save()
    return delivery


def _enqueue(deliveries: Iterable[WebhookDelivery]) -> None:
    from ..tasks import webhook_deliver_task

    for delivery in deliveries:
        transaction.on_commit(partial(webhook_deliver_task.delay, delivery.org_id, delivery.pk))


def event_emit(*, org_id: int, event: str, data: Any) -> list[WebhookDelivery]:
    """Queue `event` for every active subscription of the organization that takes it; the
    tasks start after the current transaction commits (a rolled-back change sends nothing).
    `data` is the payload's `data`, or a callable that makes it (called only when someone
    listens). Costs no query when the organization has no subscription for the event."""
    if event not in subscribed_events(org_id):
        return []
    subscriptions = list(
        WebhookSubscription.objects.for_org(org_id).filter(is_active=True, events__contains=[event])
    )
    if not subscriptions:
        return []
    body = data() if callable(data) else data
    portal = Organization.objects.filter(pk=org_id).values_list("portal", flat=True).first() or ""
    deliveries = [_delivery(s, event, body, portal) for s in subscriptions]
    _enqueue(deliveries)
    return deliveries


# --- One try ----------------------------------------------------------------------------------
def _excerpt(body: bytes) -> str:
    return body[: EXCERPT_CHARS * 4].decode("utf-8", "replace")[:EXCERPT_CHARS]


def delivery_attempt(*, org_id: int, delivery_id: int, last_try: bool) -> str:
    """Try to deliver once; record the try. Returns an `Outcome`: RETRY when the failure may
    pass (network, 5xx, 429) and tries remain, the delivery staying pending."""
    delivery = (
        WebhookDelivery.objects.for_org(org_id)
        .select_related("subscription")
        .filter(pk=delivery_id, state=DeliveryState.PENDING)
        .first()
    )
    if delivery is None:
        return Outcome.SKIPPED  # already delivered or given up (a repeated task)
    subscription = delivery.subscription
    if not subscription.is_active and delivery.event != PING_EVENT:
        _finish(delivery, DeliveryState.FAILED)
        return Outcome.SKIPPED
    number = delivery.attempts + 1
    WebhookDelivery.objects.for_org(org_id).filter(pk=delivery.pk).update(attempts=number)
    body = json.dumps(delivery.payload, ensure_ascii=False, sort_keys=True).encode()
    started = time.monotonic()
    status: int | None = None
    answer = b""
    error = ""
    retry = False
    try:
        response = webhooks.deliver(
            subscription.url,
            body=body,
            secret=subscription_secret(subscription),
            headers={EVENT_HEADER: delivery.event, DELIVERY_HEADER: str(delivery.uuid)},
            timeout=settings.WEBHOOK_TIMEOUT,
            allow_private=settings.WEBHOOK_ALLOW_PRIVATE_TARGETS,
        )
        status, answer = response.status, response.body
    except webhooks.UnsafeTarget as exc:
        error = _("The address was refused: %(why)s") % {"why": exc}
    except webhooks.DeliveryFailed as exc:
        status, answer, error, retry = exc.status, exc.body, str(exc), exc.retry
    duration = int((time.monotonic() - started) * 1000)
    ok = not error
    WebhookAttempt.objects.create(
        org_id=org_id,
        delivery=delivery,
        number=number,
        status_code=status,
        response_excerpt=_excerpt(answer),
        duration_ms=duration,
        error=error[:500],
        ok=ok,
    )
    if ok:
        _finish(delivery, DeliveryState.DELIVERED)
        if subscription.consecutive_failures:
            WebhookSubscription.objects.for_org(org_id).filter(pk=subscription.pk).update(
                consecutive_failures=0
            )
        return Outcome.DELIVERED
    if retry and not last_try:
        return Outcome.RETRY
    _finish(delivery, DeliveryState.FAILED)
    if delivery.event != PING_EVENT:
        _failure_count(subscription, error)
    return Outcome.FAILED


def _finish(delivery: WebhookDelivery, state: str) -> None:
    rows = WebhookDelivery.objects.for_org(delivery.org_id)
    rows.filter(pk=delivery.pk).update(state=state, finished_at=timezone.now())
    # The log keeps a subscription's latest deliveries (their tries go with them).
    mine = rows.filter(subscription_id=delivery.subscription_id)
    cutoff = list(mine.order_by("-pk").values_list("pk", flat=True)[KEEP_DELIVERIES:][:1])
    if cutoff:
        mine.filter(pk__lte=cutoff[0]).exclude(state=DeliveryState.PENDING).delete()


@transaction.atomic
def _failure_count(subscription: WebhookSubscription, error: str) -> None:
    rows = WebhookSubscription.objects.for_org(subscription.org_id).filter(pk=subscription.pk)
    rows.update(consecutive_failures=F("consecutive_failures") + 1)
    current = rows.select_for_update().first()
    if current is None or not current.is_active or current.consecutive_failures < disable_after():
        return
    current.is_active = False
    current.disabled_at = timezone.now()
    current.disabled_reason = (
        _("Disabled after %(count)d failed deliveries in a row. Last error: %(error)s")
        % {"count": current.consecutive_failures, "error": error}
    )[:300]
    current.save(update_fields=["is_active", "disabled_at", "disabled_reason", "updated_at"])
    _forget_events(current.org_id)
    transaction.on_commit(partial(_mail_admins, current.org_id, current.pk))


def _mail_admins(org_id: int, subscription_id: int) -> None:
    """Tell the Desk admins a webhook was disabled (each in their language)."""
    subscription = WebhookSubscription.objects.for_org(org_id).filter(pk=subscription_id).first()
    org = Organization.objects.filter(pk=org_id).first()
    if subscription is None or org is None:
        return
    members = (
        Membership.objects.for_org(org_id)
        .select_related("user")
        .filter(user__is_active=True)
        .order_by("pk")
    )
    link = settings.SITE_URL + reverse(
        "webhooks:edit", kwargs={"portal": org.portal, "webhook_id": subscription.pk}
    )
    for member in members:
        member.org = org
        if not member.is_active or not member.is_app_admin(App.DESK):
            continue
        with override(member.user.language or settings.LANGUAGE_CODE):
            subject = _("Webhook “%(name)s” was disabled") % {"name": subscription.name}
            body = _(
                "The webhook “%(name)s” (%(url)s) of %(org)s was disabled: %(reason)s\n\n"
                "Fix the receiver, send a test, then turn the webhook on again:\n%(link)s"
            ) % {
                "name": subscription.name,
                "url": subscription.url,
                "org": org.name,
                "reason": subscription.disabled_reason,
                "link": link,
            }
        try:
            send_mail(subject, body, None, [member.user.email])
        except OSError:
            log.warning("could not mail %s about disabled webhook %s", member.pk, subscription.pk)
