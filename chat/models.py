"""Chat (CHAT): departments with their operators and email settings, and the conversations
whose state decides whether a department may be disabled or deleted (CHAT-01, CHAT-03..06).

The widget, the console and real-time delivery (CHAT-02, CHAT-07, CHAT-08) extend these."""

from __future__ import annotations

import os
import secrets
import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from helpdesk.tenancy.fields import MemberForeignKey, TenantForeignKey
from helpdesk.tenancy.models import TenantModel


def new_embed_key() -> str:
    """An unguessable key naming a public department in its embed code (CHAT-02)."""
    return secrets.token_urlsafe(24)


class Visibility(models.TextChoices):
    PUBLIC = "public", pgettext_lazy("chat department", "Public")
    PRIVATE = "private", pgettext_lazy("chat department", "Private")


class ChatDepartment(TenantModel):
    """A group of operators that visitors' chats go to. Public ones appear to visitors and
    have an embed code; private ones are internal (a chat may be transferred to them)."""

    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True, max_length=1000)
    visibility = models.CharField(
        _("visibility"), max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    is_enabled = models.BooleanField(_("enabled"), default=True)
    # What the widget asks of a visitor before the chat starts (CHAT-07): optional by default.
    name_required = models.BooleanField(_("visitor's name required"), default=False)
    email_required = models.BooleanField(_("visitor's email address required"), default=False)
    # A waiting chat nobody accepts within this becomes a missed chat (issue 15, item 3).
    missed_after_seconds = models.PositiveIntegerField(
        _("missed after (seconds)"),
        default=120,
        validators=[MinValueValidator(30), MaxValueValidator(3600)],
    )
    # The widget names it under the portal (/<portal>/...), so unique per organization.
    embed_key = models.CharField(max_length=64, default=new_embed_key)
    operators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="ChatOperator", related_name="+", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("org", Lower("name"), name="chat_department_org_name_uniq"),
            models.UniqueConstraint(fields=["org", "embed_key"], name="chat_department_embed_uniq"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_public(self) -> bool:
        return self.visibility == Visibility.PUBLIC


class ChatOperator(TenantModel):
    """A member who answers the department's chats (CHAT-03)."""

    department = TenantForeignKey(
        ChatDepartment, on_delete=models.CASCADE, related_name="operator_links"
    )
    user = MemberForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "department", "user"], name="chat_operator_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in chat department {self.department_id}"


class EmailKind(models.TextChoices):
    """The department's email settings (CHAT-04, seed 004), in the order the page shows them."""

    FROM_ADDRESS = "from", _("From address")
    TRANSCRIPT = "transcript", _("Transcript when a chat ends")
    IP_BLOCK = "ip_block", _("Visitor IP blocked")
    FEEDBACK = "feedback", _("Visitor feedback")
    MISSED = "missed", _("Missed chat")
    CC = "cc", _("CC on replies to visitors")


class EmailSetting(TenantModel):
    """One email setting of a department: on or off, and its addresses (the from address
    takes exactly one). A department has one row per kind, made with it."""

    department = TenantForeignKey(
        ChatDepartment, on_delete=models.CASCADE, related_name="email_settings"
    )
    kind = models.CharField(max_length=20, choices=EmailKind.choices)
    is_enabled = models.BooleanField(_("on"), default=False)
    addresses = ArrayField(models.EmailField(max_length=254), default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "department", "kind"], name="chat_email_setting_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of chat department {self.department_id}"


class Conversation(TenantModel):
    """A visitor's chat with a department (CHAT-07). Its state tells whether the department
    has chats in progress (CHAT-06). The visitor holds a secret token, given once when the chat
    starts; only its hash is kept. `last_seq` numbers the messages (see ChatMessage.seq)."""

    class State(models.TextChoices):
        WAITING = "waiting", pgettext_lazy("chat state", "Waiting")
        LIVE = "live", pgettext_lazy("chat state", "Live")
        ENDED = "ended", pgettext_lazy("chat state", "Ended")
        MISSED = "missed", pgettext_lazy("chat state", "Missed")

    IN_PROGRESS = (State.WAITING, State.LIVE)

    # A deleted department keeps its past chats (only ended or missed ones can be left).
    department = TenantForeignKey(
        ChatDepartment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversations",
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)
    visitor_name = models.CharField(_("name"), max_length=150, blank=True)
    visitor_email = models.EmailField(_("email address"), blank=True)
    visitor_ip = models.GenericIPAddressField(null=True, blank=True)
    visitor_language = models.CharField(max_length=10, blank=True)
    # sha256 of the visitor's token (hex); empty for chats made before the widget existed.
    token_hash = models.CharField(max_length=64, blank=True)
    accepted_by = MemberForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    # Routing (issue 15, item 3): the operator a waiting chat is offered to first; any
    # operator of the department may still accept it.
    assigned_to = MemberForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # When a waiting chat becomes missed (none once accepted, ended or missed); the missed-chat
    # sweep finds the due ones (crosstenant.due_organizations reads `due_at`) through a global
    # partial index the migration makes (chat_conversation_due_global), like sla.ClockDue.
    due_at = models.DateTimeField(null=True, blank=True)
    missed_at = models.DateTimeField(null=True, blank=True)
    # The desk ticket made of this chat (chat to ticket, or the message a visitor left).
    ticket = TenantForeignKey(
        "tickets.Ticket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    last_message_at = models.DateTimeField(null=True, blank=True)
    last_seq = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # The tracked visitor who started it, or whom an operator invited (CHAT-08).
    visitor = TenantForeignKey(
        "Visitor", on_delete=models.SET_NULL, null=True, blank=True, related_name="conversations"
    )
    # Where the visitor asked the transcript to be mailed when the chat ends (CHAT-07).
    transcript_to = models.EmailField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["org", "department", "state"], name="chat_conv_dept_state"),
            models.Index(
                fields=["org", "due_at"],
                name="chat_conv_due",
                condition=models.Q(state="waiting", due_at__isnull=False),
            ),
            models.Index(fields=["org", "visitor_email"], name="chat_conv_visitor_email"),
        ]

    def __str__(self) -> str:
        return f"chat {self.pk} ({self.state})"


class Presence(models.TextChoices):
    AVAILABLE = "available", pgettext_lazy("operator presence", "Available")
    BUSY = "busy", pgettext_lazy("operator presence", "Busy")
    AWAY = "away", pgettext_lazy("operator presence", "Away")


DEFAULT_CHAT_LIMIT = 3


class OperatorStatus(TenantModel):
    """An operator's presence and how many chats they take at once (issue 15, item 3). New
    chats are routed only to available operators under their limit; a member without a row
    is away, with the default limit."""

    user = MemberForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    presence = models.CharField(
        _("presence"), max_length=10, choices=Presence.choices, default=Presence.AWAY
    )
    max_chats = models.PositiveSmallIntegerField(
        _("chats at once"),
        default=DEFAULT_CHAT_LIMIT,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "user"], name="chat_operator_status_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.presence}"


class Sender(models.TextChoices):
    VISITOR = "visitor", pgettext_lazy("chat sender", "Visitor")
    OPERATOR = "operator", pgettext_lazy("chat sender", "Operator")
    SYSTEM = "system", pgettext_lazy("chat sender", "System")


MESSAGE_MAX_LENGTH = 4000


class ChatMessage(TenantModel):
    """One message of a conversation, plain text (escaped wherever it is shown). `seq` counts
    1, 2, 3... within the conversation, in commit order: it is the event id of the streams, so
    a client that reconnects asks for what follows the last one it has."""

    conversation = TenantForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField()
    sender = models.CharField(max_length=10, choices=Sender.choices)
    author = MemberForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    body = models.TextField(_("message"), max_length=MESSAGE_MAX_LENGTH)
    # A file sent with the message (its body is the file's name).
    attachment = TenantForeignKey(
        "ChatAttachment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["seq"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "conversation", "seq"], name="chat_message_seq_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"message {self.seq} of chat {self.conversation_id}"


# --- Files, feedback, blocking and tracking (CHAT-07, CHAT-08; issue 15 items 2, 5 and 7) ------
def chat_file_path(instance: ChatAttachment, filename: str) -> str:
    """Under the organization's prefix with an unguessable name, like tickets' attachments."""
    ext = os.path.splitext(filename)[1].lower()[:10]
    return f"org/{instance.org_id}/chat/{uuid.uuid4().hex}{ext}"


class ChatAttachment(TenantModel):
    """A file the visitor sent in a chat: stored privately, served through views that check
    the visitor's token or the operator's access (helpdesk.http.stored_file_response)."""

    conversation = TenantForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=chat_file_path, max_length=255)
    name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=120)
    sender = models.CharField(max_length=10, choices=Sender.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["org", "conversation"], name="chat_attachment_conv")]

    def __str__(self) -> str:
        return self.name


class ChatFeedback(TenantModel):
    """The visitor's rating (1 to 5) and comment at the end of a chat; one per chat."""

    RATINGS = [(n, str(n)) for n in range(1, 6)]

    conversation = TenantForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="feedback_entries"
    )
    operator = MemberForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    rating = models.PositiveSmallIntegerField(_("rating"), choices=RATINGS)
    comment = models.TextField(_("comment"), blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["org", "conversation"], name="chat_feedback_uniq"),
        ]
        indexes = [models.Index(fields=["org", "created_at"], name="chat_feedback_created")]

    def __str__(self) -> str:
        return f"feedback {self.rating} on chat {self.conversation_id}"


class BlockedIP(TenantModel):
    """A visitor's address an operator blocked: no new chat starts from it."""

    ip = models.GenericIPAddressField(_("IP address"))
    conversation = TenantForeignKey(
        Conversation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    blocked_by = MemberForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["org", "ip"], name="chat_blocked_ip_uniq")]

    def __str__(self) -> str:
        return str(self.ip)


URL_MAX_LENGTH = 2000
TITLE_MAX_LENGTH = 300


class Visitor(TenantModel):
    """A browser the widget saw (CHAT-08), known by the random key it keeps in the host page's
    localStorage. A visit is pages seen with less than `VISIT_GAP` between them; `visits` > 1
    means a returning visitor. An operator's invitation waits here until the widget's next
    report picks it up (the conversation's token, given once, then cleared)."""

    key = models.CharField(max_length=64)
    department = TenantForeignKey(
        ChatDepartment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    visit_started_at = models.DateTimeField()
    visits = models.PositiveIntegerField(default=1)
    page_views = models.PositiveIntegerField(default=0)
    current_url = models.CharField(max_length=URL_MAX_LENGTH, blank=True)
    current_title = models.CharField(max_length=TITLE_MAX_LENGTH, blank=True)
    referrer = models.CharField(max_length=URL_MAX_LENGTH, blank=True)
    invite_conversation = TenantForeignKey(
        Conversation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    invite_token = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "key"], name="chat_visitor_key_uniq")]
        indexes = [models.Index(fields=["org", "last_seen_at"], name="chat_visitor_seen")]

    def __str__(self) -> str:
        return f"visitor {self.pk}"


class PageView(TenantModel):
    """One page a tracked visitor opened (CHAT-08); pruned after `CHAT_TRACKING_DAYS`."""

    visitor = TenantForeignKey(Visitor, on_delete=models.CASCADE, related_name="views")
    url = models.CharField(max_length=URL_MAX_LENGTH)
    title = models.CharField(max_length=TITLE_MAX_LENGTH, blank=True)
    referrer = models.CharField(max_length=URL_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["org", "visitor", "created_at"], name="chat_pageview_visitor"),
            models.Index(fields=["org", "created_at"], name="chat_pageview_created"),
        ]

    def __str__(self) -> str:
        return self.url
