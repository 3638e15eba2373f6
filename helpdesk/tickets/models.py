"""Tickets and their layout (statuses, custom fields), thread, attachments and history.

TKT-01, TKT-02, TKT-03, TKT-05, DEP-02."""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.models import (  # Tag: re-exported (one tagging model)
    Account,
    Contact,
    CustomFieldDefinition,
    Tag,
)
from helpdesk.customvalues import FieldType  # noqa: F401 - re-exported: the shared field types
from helpdesk.tenancy.fields import MemberForeignKey, TenantForeignKey
from helpdesk.tenancy.models import Department, TenantModel


# --- Layout (DEP-02) -------------------------------------------------------------------------
class StatusKind(models.TextChoices):
    OPEN = "open", _("Open")
    ON_HOLD = "on_hold", _("On hold")
    CLOSED = "closed", _("Closed")


class TicketStatus(TenantModel):
    """A status of a department's layout; its kind drives views, SLAs and closed times."""

    department = TenantForeignKey(Department, on_delete=models.CASCADE, related_name="statuses")
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("type"), max_length=10, choices=StatusKind.choices)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_default = models.BooleanField(_("default for new tickets"), default=False)

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = _("status")
        constraints = [
            models.UniqueConstraint("org", "department", Lower("name"), name="status_name_uniq"),
            models.UniqueConstraint(
                fields=["org", "department"],
                condition=models.Q(is_default=True),
                name="status_one_default",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CustomField(CustomFieldDefinition):
    """A custom ticket field of a department's layout. Values live in Ticket.custom_fields,
    keyed by `key`, checked by `helpdesk.customvalues.validate_custom_values`."""

    department = TenantForeignKey(
        Department, on_delete=models.CASCADE, related_name="custom_fields"
    )

    class Meta(CustomFieldDefinition.Meta):
        constraints = [
            models.UniqueConstraint(fields=["org", "department", "key"], name="custom_field_key"),
        ]


# --- Tickets (TKT-01) ------------------------------------------------------------------------
class Priority(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


HIGH_PRIORITIES = (Priority.HIGH, Priority.URGENT)
PRIORITY_RANK = {Priority.LOW: 0, Priority.MEDIUM: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class Channel(models.TextChoices):
    EMAIL = "email", pgettext_lazy("channel", "Email")
    WEB = "web", _("Web / help center")
    CHAT = "chat", _("Chat")
    PHONE = "phone", _("Phone")
    CRM = "crm", _("CRM")


class TicketCounter(TenantModel):
    """The last ticket number of an organization; incremented under a row lock."""

    last_number = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org"], name="ticket_counter_org")]

    def __str__(self) -> str:
        return f"{self.org_id}: {self.last_number}"


# What the contact and account pages' statistics read of a ticket (customers.pages.stats),
# so an account's or a contact's tickets are counted and averaged from an index alone. The
# contact's index also carries the ticket's account: an account's tickets are those of its
# own index plus its contacts' tickets of another account (or none).
CUSTOMER_STATS_COLUMNS = [
    "department",
    "status_kind",
    "channel",
    "due_at",
    "closed_at",
    "first_response",
    "answered_turns",
    "answered_wait",
]


class Ticket(TenantModel):
    number = models.PositiveBigIntegerField(_("number"))
    subject = models.CharField(_("subject"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    department = TenantForeignKey(
        Department, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("department")
    )
    status = TenantForeignKey(
        TicketStatus, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("status")
    )
    # Denormalised from the status, so views filter and count without a join.
    status_kind = models.CharField(max_length=10, choices=StatusKind.choices, editable=False)
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.MEDIUM
    )
    priority_rank = models.PositiveSmallIntegerField(default=1, editable=False)
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.WEB
    )
    contact = TenantForeignKey(
        Contact,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("contact"),
    )
    account = TenantForeignKey(
        Account,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("account"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    due_at = models.DateTimeField(_("due date"), null=True, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # The latest thread entry or change (anything that writes history), kept by the services
    # so the list sorts by it on an index instead of aggregating the thread (TKT-06).
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now)
    # The customer's waits for an agent's answer, kept by the thread services
    # (services.threads.reply_figures_update) whenever a customer message or an agent's reply
    # is written, so the customer pages' average response times sum columns instead of
    # walking every thread (CUS-03). A turn starts at the ticket's creation, or at the
    # customer's first message after an agent's reply, and ends at the next agent reply:
    # `first_response` is the first turn's wait (None until an agent replies),
    # `answered_turns` the number of answered turns and `answered_wait` their summed wait.
    first_response = models.DurationField(null=True, blank=True, editable=False)
    answered_turns = models.PositiveIntegerField(default=0, editable=False)
    answered_wait = models.DurationField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "number"], name="ticket_org_number"),
        ]
        indexes = [
            # Every list order and main filter has an index led by the organization; the id
            # ends each so "ORDER BY ..., id" walks the index without a sort.
            models.Index(fields=["org", "-created_at", "-id"], name="ticket_created"),
            models.Index(
                fields=["org", "status_kind", "-created_at", "-id"], name="ticket_kind_created"
            ),
            models.Index(
                fields=["org", "-priority_rank", "-created_at", "-id"], name="ticket_priority"
            ),
            models.Index(fields=["org", "-updated_at", "-id"], name="ticket_updated"),
            models.Index(fields=["org", "-last_activity_at", "-id"], name="ticket_activity"),
            models.Index(
                fields=["org", "department", "-created_at", "-id"], name="ticket_dept_created"
            ),
            models.Index(fields=["org", "owner", "status_kind"], name="ticket_owner_kind"),
            models.Index(
                fields=["org", "due_at", "id"],
                name="ticket_due",
                condition=~models.Q(status_kind="closed"),
            ),
            # The dashboard's grouped count of the team's unresolved tickets reads this index
            # alone (an index-only scan: about a third of the time of reading the rows).
            models.Index(
                fields=["org", "status", "priority", "department"],
                include=["status_kind", "owner", "due_at"],
                name="ticket_unresolved",
                condition=~models.Q(status_kind="closed"),
            ),
            # The dashboard's "closed per day" reads the last 30 days of closings.
            models.Index(
                fields=["org", "closed_at"],
                name="ticket_closed",
                condition=models.Q(closed_at__isnull=False),
            ),
            # A contact's or account's latest tickets (the ticket page's customer panel) read
            # five index entries, however many tickets the customer has. The included columns
            # let the contact and account pages count and average a customer's tickets by
            # status kind, due date, channel and closing from the index alone (CUS-03).
            models.Index(
                fields=["org", "contact", "-created_at", "-id"],
                include=[*CUSTOMER_STATS_COLUMNS, "account"],
                name="ticket_contact_recent",
            ),
            models.Index(
                fields=["org", "account", "-created_at", "-id"],
                include=CUSTOMER_STATS_COLUMNS,
                name="ticket_account_recent",
            ),
            # An inverted index cannot lead with a b-tree column without the btree_gin
            # extension, which not every PostgreSQL ships (the embedded one does not); the
            # search still filters by org, and the check allows GIN/GiST indexes without it.
            GinIndex(fields=["search_vector"], name="ticket_search"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def is_closed(self) -> bool:
        return self.status_kind == StatusKind.CLOSED


# --- Thread (TKT-02) -------------------------------------------------------------------------
class Thread(TenantModel):
    class Kind(models.TextChoices):
        REPLY = "reply", _("Reply")
        FORWARD = "forward", _("Forward")
        COMMENT = "comment", _("Private comment")
        INCOMING = "incoming", _("Customer message")

    ticket = TenantForeignKey(Ticket, on_delete=models.CASCADE, related_name="threads")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    contact = TenantForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField()  # sanitised HTML
    to = models.CharField(max_length=1000, blank=True)
    cc = models.CharField(max_length=1000, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        # The kind, author and id ride along so the customers' response times and
        # interactions (CUS-03, CUS-06) read a ticket's thread from the index alone.
        indexes = [
            models.Index(
                fields=["org", "ticket", "created_at"],
                include=["kind", "author", "id"],
                name="thread_ticket",
            ),
            # The organization's replies and comments newest first: the contact and account
            # pages' Interactions tab walks it and stops once a page of the record's is found,
            # instead of sorting every entry of the record's tickets (CUS-06).
            models.Index(
                fields=["org", "-created_at", "-id"],
                include=["ticket", "kind"],
                condition=models.Q(kind__in=["reply", "comment"]),
                name="thread_interactions",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.ticket_id}"

    @property
    def is_public(self) -> bool:
        return self.kind != self.Kind.COMMENT


def attachment_path(instance: Attachment, filename: str) -> str:
    """Files live under a per-organization prefix with an unguessable name."""
    ext = os.path.splitext(filename)[1].lower()[:10]
    return f"org/{instance.org_id}/tickets/{uuid.uuid4().hex}{ext}"


class Attachment(TenantModel):
    ticket = TenantForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    thread = TenantForeignKey(
        Thread, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=255)
    name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=120)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["org", "ticket"], name="attachment_ticket")]

    def __str__(self) -> str:
        return self.name


# --- History (TKT-05) ------------------------------------------------------------------------
class TicketHistory(TenantModel):
    """One change to a ticket: who, when, from where, what, and per-field before/after."""

    ticket = TenantForeignKey(Ticket, on_delete=models.CASCADE, related_name="history")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=40)
    changes = models.JSONField(default=dict, blank=True)  # {field: [before, after]}
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["org", "ticket", "created_at"], name="history_ticket")]

    def __str__(self) -> str:
        return f"{self.action} on {self.ticket_id}"


# --- The list: saved views and columns (TKT-06) -----------------------------------------------
class SavedView(TenantModel):
    """A named filter, sort and search state of the list, with the columns to show.

    Personal (`department` empty: only its owner sees it) or shared with a department (every
    member who works in that department sees it). It goes with its owner's membership."""

    name = models.CharField(_("name"), max_length=80)
    owner = MemberForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    department = TenantForeignKey(
        Department,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("shared with"),
    )
    params = models.JSONField(default=dict, blank=True)  # the list's query string, as text
    columns = models.JSONField(default=list, blank=True)  # [] : the viewer's own columns
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        indexes = [
            models.Index(fields=["org", "owner"], name="savedview_owner"),
            models.Index(fields=["org", "department"], name="savedview_department"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def query_string(self) -> str:
        """The list's address of this view (its parameters and `saved`)."""
        return urlencode({**self.params, "saved": self.pk})


class ListPreference(TenantModel):
    """A member's own list columns, in their order (TKT-06)."""

    user = MemberForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    columns = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "user"], name="listpreference_org_user"),
        ]

    def __str__(self) -> str:
        return f"{self.org_id}: {self.user_id}"


# --- The ticket page: tags, followers, merges (TKT-01, TKT-05, TKT-06) ------------------------
class TicketTag(TenantModel):
    ticket = TenantForeignKey(Ticket, on_delete=models.CASCADE, related_name="ticket_tags")
    tag = TenantForeignKey(Tag, on_delete=models.CASCADE, related_name="ticket_tags")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tag__name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["org", "ticket", "tag"], name="ticket_tag_uniq"),
        ]
        # The list's tag filter walks a tag's tickets.
        indexes = [models.Index(fields=["org", "tag", "ticket"], name="ticket_tag_by_tag")]

    def __str__(self) -> str:
        return f"{self.tag_id} on {self.ticket_id}"


class TicketFollower(TenantModel):
    """A member who gets mail about a ticket's replies and status changes; the row goes with
    the membership."""

    ticket = TenantForeignKey(Ticket, on_delete=models.CASCADE, related_name="followers")
    user = MemberForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["org", "ticket", "user"], name="ticket_follower_uniq"),
        ]
        indexes = [models.Index(fields=["org", "user"], name="ticket_follower_user")]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.ticket_id}"


class TicketMerge(TenantModel):
    """`source` was merged into `target`: the source's page redirects there."""

    source = TenantForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    target = TenantForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "source"], name="ticket_merge_src")]
        indexes = [models.Index(fields=["org", "target"], name="ticket_merge_target")]

    def __str__(self) -> str:
        return f"{self.source_id} -> {self.target_id}"


class TicketMailAlias(TenantModel):
    """A Message-ID that still leads to `ticket` although no thread entry of it carries it:
    the ids and references of a merged ticket's mail, so answers to them find the target."""

    ticket = TenantForeignKey(Ticket, on_delete=models.CASCADE, related_name="mail_aliases")
    message_id = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "message_id", "ticket"], name="ticket_mail_alias_uniq"
            ),
        ]

    def __str__(self) -> str:
        return self.message_id


# Canned responses live in their own package (issue 8); imported here so the app registers them.
from .canned.models import CannedResponse  # noqa: E402, F401
