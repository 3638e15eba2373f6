"""The CRM module (CRM-01) and its link to a desk (CRM-02, CRM-03, CRM-15, CRM-16).

The CRM keeps its own records: accounts, contacts, deals (with their contacts) and products.
The desk's records are `customers`; the sync engine (CRM-04..07, a later issue) will pair them
through a mapping row (CRM id <-> desk id, unique on both sides) and deliver changes through an
outbox written in the same transaction as each change. Both will hang off `Integration` (one
per CRM organization), which already holds what the sync needs: the desk organization, the
state, the direction and the matching options.

An integration to another organization's desk is authorised by an `IntegrationKey` that a Desk
admin of that organization issued: the key row lives in the *desk's* organization, and the
integration keeps only its id (a row cannot reference another organization's rows; the key is
re-checked through `helpdesk.tenancy.crosstenant` whenever the integration is used, so a
revoked key stops it at once).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Concat, Lower
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from helpdesk.tenancy.fields import TenantForeignKey
from helpdesk.tenancy.models import Organization, TenantModel


def _owner(verbose=None):
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=verbose or _("owner"),
    )


class Currency(models.TextChoices):
    JPY = "JPY", _("Japanese yen (JPY)")
    USD = "USD", _("US dollar (USD)")
    EUR = "EUR", _("Euro (EUR)")
    GBP = "GBP", _("Pound sterling (GBP)")
    CNY = "CNY", _("Chinese yuan (CNY)")


class TicketModule(models.TextChoices):
    """The CRM modules that can show a related list of desk tickets (CRM-08)."""

    ACCOUNTS = "accounts", _("Accounts")
    CONTACTS = "contacts", _("Contacts")
    DEALS = "deals", _("Deals")


def _all_ticket_modules() -> list[str]:
    return [m.value for m in TicketModule]


class CrmSettings(TenantModel):
    """The CRM's own settings, one row per organization (made on first save)."""

    currency = models.CharField(
        _("currency"), max_length=3, choices=Currency.choices, default=Currency.JPY
    )
    # CRM-15: the Desk tab in the CRM's navigation, for users with a desk account.
    desk_tab = models.BooleanField(
        _("show the Desk tab"),
        default=True,
        help_text=_("A Desk tab in the CRM for users who also have a desk account."),
    )
    # CRM-08: the modules whose detail pages show a related list of desk tickets.
    ticket_modules = models.JSONField(default=_all_ticket_modules, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org"], name="crm_settings_org_uniq")]

    def __str__(self) -> str:
        return f"CRM settings of {self.org_id}"


# The lists' search (crmsync.selectors.search_text_contains) reads one lowered column per
# record instead of an ILIKE per column: PostgreSQL's ILIKE lowers both sides on every row it
# tests, which made the contacts search read 2,400 contacts at 3 µs each (bench/crm_pages.py).
# The columns are joined by the unit separator, which the search removes from what it is
# given, so a search never matches across two fields.
SEARCH_SEPARATOR = "\x1f"


def _search_text(*columns: str) -> models.GeneratedField:
    parts: list = []
    for column in columns:
        parts += [models.F(column), models.Value(SEARCH_SEPARATOR)]
    return models.GeneratedField(
        expression=Lower(Concat(*parts[:-1], output_field=models.TextField())),
        output_field=models.TextField(),
        db_persist=True,
        editable=False,
    )


ACCOUNT_SEARCH = ("name", "website", "phone", "industry")
CONTACT_SEARCH = ("last_name", "first_name", "email", "secondary_email", "phone", "mobile")


class CrmAccount(TenantModel):
    class Type(models.TextChoices):
        PROSPECT = "prospect", _("Prospect")
        CUSTOMER = "customer", _("Customer")
        PARTNER = "partner", _("Partner")
        RESELLER = "reseller", _("Reseller")
        VENDOR = "vendor", _("Vendor")
        OTHER = "other", pgettext_lazy("account type", "Other")

    name = models.CharField(_("account name"), max_length=200)
    website = models.URLField(_("website"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    type = models.CharField(
        pgettext_lazy("account", "type"), max_length=20, choices=Type.choices, default=Type.PROSPECT
    )
    owner = _owner()
    description = models.TextField(_("description"), blank=True, max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    search_text = _search_text(*ACCOUNT_SEARCH)

    class Meta:
        verbose_name = _("CRM account")
        indexes = [
            models.Index("org", Lower("name"), name="crm_account_org_name"),
            models.Index(fields=["org", "owner"], name="crm_account_org_owner"),
        ]

    def __str__(self) -> str:
        return self.name


class CrmContact(TenantModel):
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100)
    email = models.EmailField(_("email"), blank=True)
    secondary_email = models.EmailField(_("secondary email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    mobile = models.CharField(_("mobile"), max_length=40, blank=True)
    title = models.CharField(_("title"), max_length=100, blank=True)
    account = TenantForeignKey(
        CrmAccount,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
        verbose_name=_("account"),
    )
    owner = _owner()
    description = models.TextField(_("description"), blank=True, max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    search_text = _search_text(*CONTACT_SEARCH)

    class Meta:
        verbose_name = _("CRM contact")
        indexes = [
            # Matching by primary and secondary email (CRM-05) reads these.
            models.Index("org", Lower("email"), name="crm_contact_org_email"),
            models.Index("org", Lower("secondary_email"), name="crm_contact_org_email2"),
            # The list's default order (name, then id): its first page reads 25 entries.
            models.Index(
                "org", Lower("last_name"), Lower("first_name"), "id", name="crm_contact_org_name"
            ),
            models.Index(fields=["org", "owner"], name="crm_contact_org_owner"),
            models.Index(fields=["org", "account"], name="crm_contact_org_account"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        # Family name first, as the customers pages show people.
        return " ".join(p for p in (self.last_name, self.first_name) if p)


class Stage(models.TextChoices):
    """The default pipeline, in order; the last two close the deal."""

    QUALIFICATION = "qualification", _("Qualification")
    NEEDS_ANALYSIS = "needs_analysis", _("Needs analysis")
    PROPOSAL = "proposal", _("Proposal")
    NEGOTIATION = "negotiation", _("Negotiation")
    WON = "won", _("Closed won")
    LOST = "lost", _("Closed lost")


PIPELINE = list(Stage.values)
CLOSED_STAGES = (Stage.WON, Stage.LOST)
# The probability a deal gets when nobody typed one (percent).
STAGE_PROBABILITY: dict[str, int] = {
    Stage.QUALIFICATION: 10,
    Stage.NEEDS_ANALYSIS: 20,
    Stage.PROPOSAL: 50,
    Stage.NEGOTIATION: 80,
    Stage.WON: 100,
    Stage.LOST: 0,
}


class Deal(TenantModel):
    name = models.CharField(_("deal name"), max_length=200)
    account = TenantForeignKey(
        CrmAccount,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deals",
        verbose_name=_("account"),
    )
    contacts: models.ManyToManyField[CrmContact, DealContact] = models.ManyToManyField(
        CrmContact, through="DealContact", related_name="deals", blank=True
    )
    stage = models.CharField(
        _("stage"), max_length=20, choices=Stage.choices, default=Stage.QUALIFICATION
    )
    # In the organization's CRM currency (CrmSettings.currency).
    amount = models.DecimalField(
        _("amount"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    expected_close = models.DateField(_("expected close date"), null=True, blank=True)
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
        help_text=_("Leave empty to use the stage's usual probability."),
    )
    owner = _owner()
    description = models.TextField(_("description"), blank=True, max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("deal")
        indexes = [
            models.Index("org", Lower("name"), name="crm_deal_org_name"),
            models.Index(fields=["org", "stage"], name="crm_deal_org_stage"),
            # The list's default order (expected close date, then id).
            models.Index(fields=["org", "expected_close", "id"], name="crm_deal_org_close"),
            models.Index(fields=["org", "owner"], name="crm_deal_org_owner"),
            models.Index(fields=["org", "account"], name="crm_deal_org_account"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.stage in CLOSED_STAGES


class DealContact(TenantModel):
    """A contact's part in a deal (the deal's contacts, CRM-01)."""

    deal = TenantForeignKey(Deal, on_delete=models.CASCADE)
    contact = TenantForeignKey(CrmContact, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "deal", "contact"], name="crm_deal_contact_uniq")
        ]
        indexes = [models.Index(fields=["org", "contact"], name="crm_deal_contact_contact")]

    def __str__(self) -> str:
        return f"{self.deal_id}-{self.contact_id}"


class CrmProduct(TenantModel):
    name = models.CharField(_("product name"), max_length=200)
    code = models.CharField(_("product code"), max_length=60, blank=True)
    unit_price = models.DecimalField(
        _("unit price"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    is_active = models.BooleanField(_("active"), default=True)
    description = models.TextField(_("description"), blank=True, max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("CRM product")
        constraints = [
            models.UniqueConstraint(
                "org", Lower("code"), condition=~models.Q(code=""), name="crm_product_org_code_uniq"
            ),
        ]
        indexes = [models.Index("org", Lower("name"), name="crm_product_org_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})" if self.code else self.name


# --- The link to a desk (CRM-02, CRM-03, CRM-15, CRM-16) ------------------------------------
class IntegrationKey(TenantModel):
    """A key a Desk admin issues so that another organization's CRM may connect to this desk.

    `org` is the *desk's* organization. Only a SHA-256 of the key is kept (it is 256 random
    bits, so a slow hash adds nothing); the key is shown once. Revoking is immediate: every use
    of the integration checks the key again."""

    label = models.CharField(_("label"), max_length=100)
    prefix = models.CharField(max_length=12)  # the key's first characters, to tell keys apart
    key_hash = models.CharField(max_length=64)
    created_by = _owner(_("issued by"))
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = _owner(_("revoked by"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "key_hash"], name="crm_key_org_hash_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Integration(TenantModel):
    """This CRM's link to one desk portal (one per CRM organization, CRM-02).

    States (CRM-07, CRM-16), changed only by `services.integration`:
    disabled -> enabled <-> paused; any -> deactivated; deactivated -> disabled (never synced)
    or paused (synced before: the admin resumes on purpose). Removing deletes the row."""

    class State(models.TextChoices):
        DISABLED = "disabled", _("Not started")
        ENABLED = "enabled", _("Syncing")
        PAUSED = "paused", _("Paused")
        DEACTIVATED = "deactivated", _("Deactivated")

    class Direction(models.TextChoices):
        ONE_WAY = "one_way", _("One-way (CRM to desk)")
        TWO_WAY = "two_way", _("Two-way")

    # The desk's organization: this one, or another one authorised by `key_id`.
    desk_org = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", verbose_name=_("desk portal")
    )
    key_id = models.BigIntegerField(null=True, blank=True)  # IntegrationKey of desk_org
    desk_admin_email = models.EmailField(blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.DISABLED)
    direction = models.CharField(
        _("sync direction"), max_length=10, choices=Direction.choices, default=Direction.ONE_WAY
    )
    match_secondary_email = models.BooleanField(
        _("also match by secondary email"),
        default=False,
        help_text=_(
            "A contact whose secondary email matches a desk contact's email is linked to it; "
            "the desk's primary email is then replaced by the CRM's."
        ),
    )
    # Desk departments whose products are synced (CRM-06); ids in desk_org.
    product_department_ids = models.JSONField(default=list, blank=True)
    authorised_by = _owner(_("authorised by"))
    authorised_at = models.DateTimeField(null=True, blank=True)
    enabled_at = models.DateTimeField(null=True, blank=True)  # first enabled
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org"], name="crm_integration_one_per_org")]

    def __str__(self) -> str:
        return f"CRM {self.org_id} -> desk {self.desk_org_id}"

    @property
    def is_same_org(self) -> bool:
        return self.desk_org_id == self.org_id

    @property
    def is_live(self) -> bool:
        """Not deactivated: the desk tab and invitations work (syncing needs `enabled`)."""
        return self.state != self.State.DEACTIVATED


# --- The sync (CRM-04..CRM-07) -------------------------------------------------------------
class SyncKind(models.TextChoices):
    ACCOUNT = "account", _("Account")
    CONTACT = "contact", _("Contact")
    PRODUCT = "product", _("Product")


class SyncLink(TenantModel):
    """One synced pair: a CRM record and its desk record (ids in `integration.desk_org`),
    unique on both sides, with the values last synced, field by field (the base of two-way
    conflict resolution). `org` is the CRM's organization."""

    integration = TenantForeignKey(Integration, on_delete=models.CASCADE, related_name="links")
    kind = models.CharField(max_length=10, choices=SyncKind.choices)
    crm_id = models.BigIntegerField()
    desk_id = models.BigIntegerField()
    synced = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "integration", "kind", "crm_id"], name="crm_link_crm_uniq"
            ),
            models.UniqueConstraint(
                fields=["org", "integration", "kind", "desk_id"], name="crm_link_desk_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} crm {self.crm_id} <-> desk {self.desk_id}"


class OutboxEntry(TenantModel):
    """A change to a synced record, written in the transaction of the change, delivered by
    Celery to the other side (in order, once: `delivered_at`). `org` is the organization of
    the changed record: the CRM's for `side` crm, the desk's for `side` desk (then
    `integration_id` and `crm_org_id` name a row of another organization, as plain ids)."""

    class Side(models.TextChoices):
        CRM = "crm", _("CRM")
        DESK = "desk", _("Desk")

    integration_id = models.BigIntegerField()
    crm_org_id = models.BigIntegerField()
    side = models.CharField(max_length=4, choices=Side.choices)
    kind = models.CharField(max_length=10, choices=SyncKind.choices)
    record_id = models.BigIntegerField()
    fields = models.JSONField(default=list)
    changed_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, blank=True)  # applied | nothing | failed
    error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["org", "integration_id", "changed_at", "id"],
                condition=models.Q(delivered_at__isnull=True),
                name="crm_outbox_pending",
            ),
            models.Index(
                fields=["org", "integration_id", "side", "kind", "record_id"],
                name="crm_outbox_record",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.kind} {self.record_id} {self.fields}"


class SyncRun(TenantModel):
    """A dry run, an initial sync or a per-record resync, with its progress and outcome."""

    class Kind(models.TextChoices):
        DRY_RUN = "dry_run", _("Dry run")
        INITIAL = "initial", _("Initial sync")
        RESYNC = "resync", _("Resync of a record")

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    integration = TenantForeignKey(Integration, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    ambiguous = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    started_by = _owner(_("started by"))
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["org", "integration", "-created_at"], name="crm_run_recent")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.state}"

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0


class SyncConflict(TenantModel):
    """A field changed on both sides since the last sync: the newer change was kept."""

    integration = TenantForeignKey(Integration, on_delete=models.CASCADE, related_name="conflicts")
    kind = models.CharField(max_length=10, choices=SyncKind.choices)
    crm_id = models.BigIntegerField()
    desk_id = models.BigIntegerField()
    field = models.CharField(max_length=50)
    crm_value = models.JSONField(null=True, blank=True)
    desk_value = models.JSONField(null=True, blank=True)
    kept = models.CharField(max_length=4, choices=OutboxEntry.Side.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["org", "integration", "-created_at"], name="crm_conflict_recent")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.crm_id}.{self.field}"


class SyncError(TenantModel):
    """Something the sync could not do (a refused value, an ambiguous match, a revoked key),
    for the sync health page (errors by type)."""

    class Type(models.TextChoices):
        VALIDATION = "validation", _("Refused by the other side")
        AMBIGUOUS = "ambiguous", _("Ambiguous match")
        AUTHORISATION = "authorisation", _("Not authorised")
        MISSING = "missing", _("Record gone")
        OTHER = "other", pgettext_lazy("sync error", "Other")

    integration = TenantForeignKey(Integration, on_delete=models.CASCADE, related_name="errors")
    type = models.CharField(max_length=20, choices=Type.choices)
    kind = models.CharField(max_length=10, choices=SyncKind.choices, blank=True)
    side = models.CharField(max_length=4, blank=True)
    record_id = models.BigIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["org", "integration", "-created_at"], name="crm_error_recent")
        ]

    def __str__(self) -> str:
        return f"{self.type}: {self.message[:40]}"


# --- Desk tickets on CRM pages (CRM-08..CRM-13) ----------------------------------------------
class DealTicket(TenantModel):
    """A desk ticket linked to a deal (CRM-12). `org` is the CRM's organization; the ticket is
    a row of `integration.desk_org`, named by its id (a row cannot reference another
    organization's rows). Removing the integration removes the links."""

    integration = TenantForeignKey(
        Integration, on_delete=models.CASCADE, related_name="deal_tickets"
    )
    deal = TenantForeignKey(Deal, on_delete=models.CASCADE, related_name="ticket_links")
    ticket_id = models.BigIntegerField()
    linked_by = _owner(_("linked by"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "deal", "ticket_id"], name="crm_deal_ticket_uniq"
            )
        ]
        indexes = [
            models.Index(fields=["org", "integration", "ticket_id"], name="crm_deal_ticket_ticket")
        ]

    def __str__(self) -> str:
        return f"deal {self.deal_id} <-> ticket {self.ticket_id}"


# --- Sales signals (CRM-14) -------------------------------------------------------------------
class SignalEvent(models.TextChoices):
    NEW_TICKET = "new_ticket", _("New ticket")
    NEW_COMMENT = "new_comment", _("New comment")
    NEW_REPLY = "new_reply", _("New reply")
    OVERDUE = "overdue", _("Ticket overdue")
    ESCALATED = "escalated", _("Ticket escalated")
    NEW_RATING = "new_rating", _("New rating")


def _all_signal_events() -> list[str]:
    return [e.value for e in SignalEvent]


class SignalPreference(TenantModel):
    """Which sales signals one CRM user receives, and whether they are also mailed (CRM-14).
    No row: every event, in the app only."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    events = models.JSONField(default=_all_signal_events, blank=True)
    mail = models.BooleanField(_("also send them by email"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "user"], name="crm_signal_pref_uniq")]

    def __str__(self) -> str:
        return f"signals of {self.user_id}"


class SalesSignal(TenantModel):
    """One notification to one CRM user about a desk ticket of their contact, account or deal
    (CRM-14). `org` is the CRM's organization; the ticket is named by id and number in
    `integration.desk_org`, with its subject as it was (shown even if the desk is gone)."""

    integration = TenantForeignKey(Integration, on_delete=models.CASCADE, related_name="signals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=20, choices=SignalEvent.choices)
    ticket_id = models.BigIntegerField()
    ticket_number = models.PositiveBigIntegerField()
    subject = models.CharField(max_length=255)
    # Why this user: the CRM record they own ("contact", "account" or "deal") and its id.
    record_kind = models.CharField(max_length=10)
    record_id = models.BigIntegerField()
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["org", "user", "-created_at", "-id"], name="crm_signal_user"),
            models.Index(
                fields=["org", "user"],
                condition=models.Q(read_at__isnull=True),
                name="crm_signal_unread",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.ticket_number} for {self.user_id}"
