"""Visitor tracking (CHAT-08): the widget reports each page a visitor opens (address, title,
referrer) and, while the page stays open, a heartbeat; operators see the visitors on the site
now and may invite one to a chat.

A visitor is known by a random key the widget keeps in the host page's localStorage (no cookie
of ours). The report is one SQL statement: an upsert of the visitor (a new visit after
`VISIT_GAP` of silence: the visit count, its start and its referrer renewed) joined to the
embed code's department, with the page view inserted by the same statement. The answer carries
an operator's pending invitation, cleared by one more statement only when there is one.
Old page views and long-gone visitors are pruned daily (`tracking_prune`).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.tenancy.models import Membership, Organization
from helpdesk.tenancy.rls import tenant_scope

from ..models import (
    TITLE_MAX_LENGTH,
    URL_MAX_LENGTH,
    ChatDepartment,
    Conversation,
    PageView,
    Sender,
    Visibility,
    Visitor,
)
from .access import can_configure
from .conversations import _append, _clean_body, can_operate, token_hash

VISIT_GAP = dt.timedelta(minutes=30)
ONLINE_WITHIN = dt.timedelta(minutes=2)  # a heartbeat every 15 s keeps an open page online
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def keep_days() -> int:
    return int(getattr(settings, "CHAT_TRACKING_DAYS", 30))


# --- The widget's report -----------------------------------------------------------------------
def _clean_url(value: str, *, required: bool) -> str:
    value = (value or "").replace("\x00", "").strip()[:URL_MAX_LENGTH]
    if not value:
        if required:
            raise ValidationError({"url": [_("The page's address is missing.")]})
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        if required:
            raise ValidationError({"url": [_("The page's address is not a web address.")]})
        return ""
    return value


def clean_key(key: str) -> str:
    key = (key or "").strip()
    if not KEY_RE.match(key):
        raise ValidationError({"visitor": [_("The visitor's key is not valid.")]})
    return key


@dataclass(frozen=True)
class Report:
    visitor_id: int
    invite_conversation_id: int | None
    invite_token: str


_UPSERT = """
WITH v AS (
    INSERT INTO {visitor} AS cur (
        org_id, key, department_id, ip, first_seen_at, last_seen_at, visit_started_at,
        visits, page_views, current_url, current_title, referrer, invite_token
    )
    SELECT d.org_id, %(key)s, d.id, %(ip)s, %(now)s, %(now)s, %(now)s,
           1, %(views)s, %(url)s, %(title)s, %(referrer)s, ''
    FROM {department} d
    WHERE d.org_id = %(org)s AND d.embed_key = %(embed)s
      AND d.visibility = %(public)s AND d.is_enabled
    ON CONFLICT (org_id, key) DO UPDATE SET
        department_id = EXCLUDED.department_id,
        ip = EXCLUDED.ip,
        visits = cur.visits + (cur.last_seen_at < %(gap_start)s)::int,
        visit_started_at = CASE WHEN cur.last_seen_at < %(gap_start)s
                           THEN EXCLUDED.visit_started_at ELSE cur.visit_started_at END,
        referrer = CASE WHEN cur.last_seen_at < %(gap_start)s AND EXCLUDED.page_views > 0
                   THEN EXCLUDED.referrer ELSE cur.referrer END,
        page_views = cur.page_views + EXCLUDED.page_views,
        current_url = CASE WHEN EXCLUDED.page_views > 0
                      THEN EXCLUDED.current_url ELSE cur.current_url END,
        current_title = CASE WHEN EXCLUDED.page_views > 0
                        THEN EXCLUDED.current_title ELSE cur.current_title END,
        last_seen_at = EXCLUDED.last_seen_at
    RETURNING cur.org_id, cur.id, cur.invite_conversation_id, cur.invite_token
), pv AS (
    INSERT INTO {pageview} (org_id, visitor_id, url, title, referrer, created_at)
    SELECT v.org_id, v.id, %(url)s, %(title)s, %(page_referrer)s, %(now)s
    FROM v WHERE %(views)s > 0
)
SELECT id, invite_conversation_id, invite_token FROM v
"""


def track(
    *,
    org: Organization,
    embed_key: str,
    key: str,
    url: str,
    title: str,
    referrer: str,
    ip: str | None,
    page_view: bool,
    now: dt.datetime | None = None,
) -> Report:
    """Record a page view (or only a heartbeat, `page_view` False) of the visitor `key` on the
    site of the embed code's department; 404 for an embed code that names no public, enabled
    department of the organization."""
    key = clean_key(key)
    url = _clean_url(url, required=page_view)
    title = (title or "").replace("\x00", "").strip()[:TITLE_MAX_LENGTH]
    referrer = _clean_url(referrer, required=False)
    now = now or timezone.now()
    sql = _UPSERT.format(
        visitor=connection.ops.quote_name(Visitor._meta.db_table),
        department=connection.ops.quote_name(ChatDepartment._meta.db_table),
        pageview=connection.ops.quote_name(PageView._meta.db_table),
    )
    params: dict[str, Any] = {
        "org": org.pk,
        "embed": embed_key,
        "public": str(Visibility.PUBLIC),
        "key": key,
        "ip": ip,
        "now": now,
        "gap_start": now - VISIT_GAP,
        "views": 1 if page_view else 0,
        "url": url,
        "title": title,
        "referrer": _external_referrer(referrer, url),
        "page_referrer": referrer,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        raise Http404
    visitor_id, invite_id, invite_token = row
    if invite_id and invite_token:
        Visitor.objects.for_org(org).filter(pk=visitor_id).update(
            invite_conversation=None, invite_token=""
        )
    return Report(visitor_id, invite_id if invite_token else None, invite_token or "")


def _external_referrer(referrer: str, url: str) -> str:
    """Where the visitor came from: the referrer unless it is the same site (a page's own
    link), which says nothing about it."""
    if referrer and urlsplit(referrer).netloc == urlsplit(url).netloc:
        return ""
    return referrer


def visitor_of_key(org: Organization | int, key: str) -> Visitor | None:
    if not key or not KEY_RE.match(key):
        return None
    return Visitor.objects.for_org(org).filter(key=key).first()


def conversation_link(conversation: Conversation, key: str) -> None:
    """The chat the visitor started belongs to their tracked record (returning or new)."""
    visitor = visitor_of_key(conversation.org_id, key)
    if visitor is None:
        return
    Conversation.objects.for_org(conversation.org_id).filter(pk=conversation.pk).update(
        visitor=visitor
    )
    conversation.visitor = visitor


# --- The operators' side -----------------------------------------------------------------------
def live_visitors(actor: Membership, *, now: dt.datetime | None = None) -> QuerySet[Visitor]:
    """The visitors seen within `ONLINE_WITHIN`, on the sites of the departments the member
    operates (every department for supervisors and chat admins), most recent first."""
    now = now or timezone.now()
    rows = (
        Visitor.objects.for_org(actor.org)
        .filter(last_seen_at__gte=now - ONLINE_WITHIN)
        .select_related("department")
        .order_by("-last_seen_at", "-pk")
    )
    if not can_configure(actor):
        rows = rows.filter(department__operator_links__user_id=actor.user_id)
    return rows[:500]


def visitor_for_operator(actor: Membership, visitor_id: int) -> Visitor:
    visitor = (
        Visitor.objects.for_org(actor.org).select_related("department").filter(pk=visitor_id)
    ).first()
    if visitor is None or not can_operate(actor, visitor.department):
        raise Http404
    return visitor


def recent_pages(visitor: Visitor, limit: int = 20) -> list[PageView]:
    return list(
        PageView.objects.for_org(visitor.org_id)
        .filter(visitor=visitor)
        .order_by("-created_at", "-pk")[:limit]
    )


@transaction.atomic
def chat_start_with(*, actor: Membership, visitor: Visitor, body: str) -> Conversation:
    """An operator invites a visitor: a live chat, accepted by the operator, whose first
    message is the operator's; the visitor's widget opens with it on its next report."""
    if visitor.org_id != actor.org.id or not can_operate(actor, visitor.department):
        raise PermissionDenied
    body = _clean_body(body)
    department = visitor.department
    if department is None or not department.is_enabled:
        raise ValidationError({"body": [_("This visitor's chat department is not available.")]})
    in_chat = (
        Conversation.objects.for_org(actor.org)
        .filter(visitor=visitor, state__in=Conversation.IN_PROGRESS)
        .exists()
    )
    if in_chat:
        raise ValidationError({"body": [_("This visitor is already in a chat.")]})
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    conversation = Conversation.objects.create(
        org_id=actor.org.id,
        department=department,
        state=Conversation.State.LIVE,
        visitor=visitor,
        visitor_ip=visitor.ip,
        token_hash=token_hash(token),
        accepted_by=actor.user,
        accepted_at=now,
    )
    _append(conversation, sender=Sender.OPERATOR, author=actor.user, body=body)
    Visitor.objects.for_org(actor.org).filter(pk=visitor.pk).update(
        invite_conversation=conversation, invite_token=token
    )
    return conversation


# --- Pruning (beat, daily) ---------------------------------------------------------------------
def tracking_prune(*, now: dt.datetime | None = None, batch: int = 5000) -> int:
    """Delete page views older than `CHAT_TRACKING_DAYS` and visitors not seen since, in every
    organization, one at a time under its own scope, in batches. Returns the rows deleted."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=keep_days())
    deleted = 0
    for org_id in Organization.objects.order_by("pk").values_list("pk", flat=True):
        with tenant_scope(org_id):
            for model, field in ((PageView, "created_at"), (Visitor, "last_seen_at")):
                while True:
                    ids = list(
                        model.objects.for_org(org_id)
                        .filter(**{f"{field}__lt": cutoff})
                        .values_list("pk", flat=True)[:batch]
                    )
                    if not ids:
                        break
                    count, _by_model = model.objects.for_org(org_id).filter(pk__in=ids).delete()
                    deleted += count
    return deleted
