"""Desk Setup → Webhooks (issue 16, item 4): a Desk admin lists, adds, edits and deletes
subscriptions, rotates a secret (shown once), sends a test and reads the delivery log."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.http import apply_errors
from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app_admin

from ..models import WebhookAttempt, WebhookSubscription
from . import services as svc
from .forms import WebhookEditForm, WebhookForm

LOG_ROWS = 50


def _subscription(request: HttpRequest, webhook_id: int) -> WebhookSubscription:
    found = WebhookSubscription.objects.for_org(request.org).filter(pk=webhook_id).first()
    if found is None:
        raise Http404
    return found


def _secret_page(request: HttpRequest, subscription: WebhookSubscription, secret: str):
    """The secret, on this answer only (never stored in clear, never redirected with)."""
    response = render(
        request, "api/webhook_secret.html", {"subscription": subscription, "secret": secret}
    )
    response["Cache-Control"] = "no-store"
    return response


@require_app_admin(App.DESK)
def webhook_list(request: HttpRequest) -> HttpResponse:
    subscriptions = WebhookSubscription.objects.for_org(request.org).order_by("name", "pk")
    return render(request, "api/webhooks.html", {"subscriptions": subscriptions})


@require_app_admin(App.DESK)
def webhook_create(request: HttpRequest) -> HttpResponse:
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            subscription, secret = svc.subscription_create(
                actor=request.membership, name=data["name"], url=data["url"], events=data["events"]
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, _("Webhook added. Copy its secret now: it is not shown again.")
            )
            return _secret_page(request, subscription, secret)
    return render(
        request,
        "api/webhook_form.html",
        {"form": form, "subscription": None},
        status=400 if form.errors else 200,
    )


@require_app_admin(App.DESK)
def webhook_edit(request: HttpRequest, webhook_id: int) -> HttpResponse:
    subscription = _subscription(request, webhook_id)
    initial = {
        "name": subscription.name,
        "url": subscription.url,
        "events": subscription.events,
        "is_active": subscription.is_active,
    }
    form = WebhookEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            svc.subscription_update(
                actor=request.membership,
                subscription=subscription,
                name=data["name"],
                url=data["url"],
                events=data["events"],
                is_active=data["is_active"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Webhook saved."))
            return redirect("webhooks:edit", portal=request.org.portal, webhook_id=subscription.pk)
    attempts = (
        WebhookAttempt.objects.for_org(request.org)
        .filter(delivery__subscription=subscription)
        .select_related("delivery")
        .order_by("-at", "-pk")[:LOG_ROWS]
    )
    return render(
        request,
        "api/webhook_form.html",
        {"form": form, "subscription": subscription, "attempts": attempts},
        status=400 if form.errors else 200,
    )


@require_POST
@require_app_admin(App.DESK)
def webhook_delete(request: HttpRequest, webhook_id: int) -> HttpResponse:
    subscription = _subscription(request, webhook_id)
    svc.subscription_delete(actor=request.membership, subscription=subscription)
    messages.success(request, _("Webhook “%(name)s” deleted.") % {"name": subscription.name})
    return redirect("webhooks:list", portal=request.org.portal)


@require_POST
@require_app_admin(App.DESK)
def webhook_rotate(request: HttpRequest, webhook_id: int) -> HttpResponse:
    subscription = _subscription(request, webhook_id)
    secret = svc.subscription_secret_rotate(actor=request.membership, subscription=subscription)
    messages.success(request, _("New secret made. Copy it now: it is not shown again."))
    return _secret_page(request, subscription, secret)


@require_POST
@require_app_admin(App.DESK)
def webhook_test(request: HttpRequest, webhook_id: int) -> HttpResponse:
    subscription = _subscription(request, webhook_id)
    delivery = svc.subscription_ping(actor=request.membership, subscription=subscription)
    if delivery.state == "delivered":
        messages.success(request, _("Test delivered."))
    elif delivery.state == "failed":
        messages.error(request, _("The test could not be delivered: see the delivery log."))
    else:
        messages.info(request, _("Test sent; its result will show in the delivery log."))
    return redirect("webhooks:edit", portal=request.org.portal, webhook_id=subscription.pk)
