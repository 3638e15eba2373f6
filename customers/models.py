"""Contacts (people who write in), accounts (their organizations) and products (CUS-01).

The rich three-panel detail pages come with a later issue; these are the records tickets
need."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.fields import TenantForeignKey
from helpdesk.tenancy.models import Department, TenantModel


class Account(TenantModel):
    name = models.CharField(_("account name"), max_length=200)
    website = models.URLField(_("website"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    description = models.TextField(_("description"), blank=True, max_length=5000)
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
    tags = models.CharField(_("tags"), max_length=255, blank=True, help_text=_("Comma-separated"))
    description = models.TextField(_("description"), blank=True, max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [
            models.Index("org", Lower("email"), name="contact_org_email"),
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
        return [t.strip() for t in self.tags.split(",") if t.strip()]


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
