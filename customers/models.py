"""Contacts (people who write in), accounts (their organizations) and products (CUS-01).

The rich three-panel detail pages come with a later issue; these are the records tickets
need."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from helpdesk.customvalues import FieldType
from helpdesk.tenancy.fields import TenantForeignKey
from helpdesk.tenancy.models import Department, TenantModel


class Tag(TenantModel):
    """A label of the organization's tickets, contacts and accounts (one tagging model, TKT-01,
    CUS-01); names are unique regardless of case.

    Defined in this lower layer so customers can tag their records without importing tickets;
    the table keeps its tickets-era name (moved with SeparateDatabaseAndState, no data moved)
    and `helpdesk.tickets.models` re-exports the class."""

    name = models.CharField(_("name"), max_length=50)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "tickets_tag"
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint("org", Lower("name"), name="tag_name_uniq")]

    def __str__(self) -> str:
        return self.name


class Account(TenantModel):
    name = models.CharField(_("account name"), max_length=200)
    website = models.URLField(_("website"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    description = models.TextField(_("description"), blank=True, max_length=5000)
    # Values of the organization's account fields (CustomerField), keyed by field key.
    custom_fields = models.JSONField(default=dict, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index("org", Lower("name"), name="account_org_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def tag_list(self) -> list[str]:
        """The account's tag names (from `account_tags__tag`, prefetch it for lists)."""
        return sorted((link.tag.name for link in self.account_tags.all()), key=str.lower)


class Contact(TenantModel):
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100)
    email = models.EmailField(_("email"), blank=True)
    secondary_email = models.EmailField(_("secondary email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    mobile = models.CharField(_("mobile"), max_length=40, blank=True)
    title = models.CharField(_("title"), max_length=100, blank=True)
    account = TenantForeignKey(
        Account,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
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
    description = models.TextField(_("description"), blank=True, max_length=5000)
    # Values of the organization's contact fields (CustomerField), keyed by field key.
    custom_fields = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [
            models.Index("org", Lower("email"), name="contact_org_email"),
            # Incoming mail and chat find a contact by either address (TKT-07).
            models.Index("org", Lower("secondary_email"), name="contact_org_secondary_email"),
            models.Index("org", Lower("last_name"), name="contact_org_last_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        # Japanese order (family name first) reads naturally in both languages here.
        return " ".join(p for p in (self.last_name, self.first_name) if p)

    @property
    def tag_list(self) -> list[str]:
        """The contact's tag names (from `contact_tags__tag`, prefetch it for lists)."""
        return sorted((link.tag.name for link in self.contact_tags.all()), key=str.lower)


class ContactTag(TenantModel):
    contact = TenantForeignKey(Contact, on_delete=models.CASCADE, related_name="contact_tags")
    tag = TenantForeignKey(Tag, on_delete=models.CASCADE, related_name="contact_tags")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tag__name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["org", "contact", "tag"], name="contact_tag_uniq"),
        ]
        # The list's tag filter walks a tag's contacts.
        indexes = [models.Index(fields=["org", "tag", "contact"], name="contact_tag_by_tag")]

    def __str__(self) -> str:
        return f"{self.tag_id} on contact {self.contact_id}"


class AccountTag(TenantModel):
    account = TenantForeignKey(Account, on_delete=models.CASCADE, related_name="account_tags")
    tag = TenantForeignKey(Tag, on_delete=models.CASCADE, related_name="account_tags")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tag__name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["org", "account", "tag"], name="account_tag_uniq"),
        ]
        indexes = [models.Index(fields=["org", "tag", "account"], name="account_tag_by_tag")]

    def __str__(self) -> str:
        return f"{self.tag_id} on account {self.account_id}"


class Product(TenantModel):
    name = models.CharField(_("product name"), max_length=200)
    code = models.CharField(_("product code"), max_length=60, blank=True)
    department = TenantForeignKey(
        Department,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="products",
        verbose_name=_("department"),
    )
    description = models.TextField(_("description"), blank=True, max_length=5000)
    is_active = models.BooleanField(_("active"), default=True)
    contacts = models.ManyToManyField(
        Contact, through="ContactProduct", related_name="products", blank=True
    )
    accounts = models.ManyToManyField(
        Account, through="AccountProduct", related_name="products", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "org", Lower("code"), condition=~models.Q(code=""), name="product_org_code_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})" if self.code else self.name


class ContactProduct(TenantModel):
    contact = TenantForeignKey(Contact, on_delete=models.CASCADE)
    product = TenantForeignKey(Product, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "contact", "product"], name="contact_product_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}-{self.product_id}"


class AccountProduct(TenantModel):
    account = TenantForeignKey(Account, on_delete=models.CASCADE)
    product = TenantForeignKey(Product, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "account", "product"], name="account_product_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}-{self.product_id}"


# --- Custom fields of contacts and accounts -------------------------------------------------
class RecordKind(models.TextChoices):
    """The two kinds of customer record that have custom fields and history."""

    CONTACT = "contact", _("Contact")
    ACCOUNT = "account", _("Account")


class CustomFieldDefinition(TenantModel):
    """What a custom field is, for every kind of record that has them: ticket fields of a
    department's layout (`helpdesk.tickets.models.CustomField`) and contact and account
    fields (`CustomerField`). Values are checked by `helpdesk.customvalues`."""

    label = models.CharField(_("label"), max_length=80)
    key = models.SlugField(_("key"), max_length=60, db_index=False)
    type = models.CharField(_("type"), max_length=10, choices=FieldType.choices)
    required = models.BooleanField(_("required"), default=False)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    choices = models.JSONField(_("pick list values"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        abstract = True
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.label


class CustomerField(CustomFieldDefinition):
    """A custom field of the organization's contacts or accounts (`module`). Values live in
    Contact.custom_fields / Account.custom_fields keyed by `key`."""

    module = models.CharField(_("records"), max_length=10, choices=RecordKind.choices)

    class Meta(CustomFieldDefinition.Meta):
        constraints = [
            models.UniqueConstraint(fields=["org", "module", "key"], name="customer_field_key"),
        ]


# --- History (CUS-04) -----------------------------------------------------------------------
class HistoryAction(models.TextChoices):
    ADDED = "added", pgettext_lazy("customer history", "Added")
    UPDATED = "updated", pgettext_lazy("customer history", "Updated")
    DELETED = "deleted", pgettext_lazy("customer history", "Deleted")
    MERGED = "merged", pgettext_lazy("customer history", "Merged")
    TAGGED = "tagged", pgettext_lazy("customer history", "Tagged")
    UNTAGGED = "untagged", pgettext_lazy("customer history", "Tag removed")
    OWNER_CHANGED = "owner_changed", pgettext_lazy("customer history", "Owner changed")
    PRODUCT_LINKED = "product_linked", pgettext_lazy("customer history", "Product linked")
    PRODUCT_UNLINKED = "product_unlinked", pgettext_lazy("customer history", "Product unlinked")
    IMPORTED = "imported", pgettext_lazy("customer history", "Imported")
    NOTE_ADDED = "note_added", pgettext_lazy("customer history", "Note added")
    NOTE_DELETED = "note_deleted", pgettext_lazy("customer history", "Note deleted")
    FILE_ADDED = "file_added", pgettext_lazy("customer history", "File added")
    FILE_DELETED = "file_deleted", pgettext_lazy("customer history", "File deleted")


class CustomerHistory(TenantModel):
    """One change to a contact or account: who (and their name then), when, from which IP
    address, what, and per field the before/after values as displayed {field: [before, after]}.

    The record is named by kind and plain id, not a foreign key: the history of a deleted or
    merged record stays readable."""

    kind = models.CharField(max_length=10, choices=RecordKind.choices)
    record_id = models.BigIntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=20, choices=HistoryAction.choices)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["org", "kind", "record_id", "-created_at"], name="customer_history_record"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} on {self.kind} {self.record_id}"
