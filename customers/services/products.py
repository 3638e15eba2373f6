"""The product catalogue and the products linked to contacts and accounts (CUS-10)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership, Organization

from ..models import (
    Account,
    AccountProduct,
    Contact,
    ContactProduct,
    HistoryAction,
    Product,
    RecordKind,
)
from .common import _lock, _stored, ensure_can
from .history import KINDS, history_add
from .listeners import _changed
from .records import PRODUCT_TRACKED


# --- Products ------------------------------------------------------------------------------
@transaction.atomic
def product_save(*, actor: Membership, product: Product) -> Product:
    """Create or update a product of the catalogue (Desk administrators). Codes are unique
    per organization, case-insensitively; a blank code is allowed for any number."""
    ensure_can(actor, "configure")
    org = actor.org
    stored = _stored(Product, org, product, *PRODUCT_TRACKED)
    product.org = org
    product.name = product.name.strip()
    product.code = product.code.strip()
    product.full_clean(exclude=["org"])
    ensure_same_org(org, product.department)
    errors: dict[str, str] = {}
    if product.code:
        _lock(org, "product-code", product.code.lower())
        clash = Product.objects.for_org(org).filter(code__iexact=product.code)
        if product.pk:
            clash = clash.exclude(pk=product.pk)
        other = clash.first()
        if other is not None:
            errors["code"] = _("The code %(code)s is already used by “%(name)s”.") % {
                "code": other.code,
                "name": other.name,
            }
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError as exc:  # the unique index, should a writer bypass this service
        raise ValidationError({"code": _("This product code is already used.")}) from exc
    _changed("product", product, stored, PRODUCT_TRACKED)
    return product


@transaction.atomic
def product_delete(*, actor: Membership, product: Product) -> None:
    """Delete a product; its links to contacts and accounts go with it."""
    ensure_can(actor, "configure")
    ensure_same_org(actor.org, product)
    product.delete()


def _linkable(org: Organization, product: Product) -> None:
    ensure_same_org(org, product)
    if not product.is_active:
        raise ValidationError(
            {"product": _("“%(name)s” is inactive and cannot be linked.") % {"name": product.name}}
        )


def _product_link(
    actor: Membership,
    record: Contact | Account,
    product: Product,
    ip: str | None,
    *,
    link: bool,
) -> bool:
    """Link or unlink one product of a contact or account; a history entry when something
    changed. Returns whether it did."""
    org = actor.org
    ensure_same_org(org, record)
    kind = KINDS[type(record)]
    model, field = (
        (ContactProduct, "contact") if kind == RecordKind.CONTACT else (AccountProduct, "account")
    )
    if link:
        _linkable(org, product)
        links = model.objects.for_org(org).filter(product=product, **{field: record})
        changed = not links.exists()
        if changed:
            model.objects.bulk_create(
                [model(org=org, product=product, **{field: record})], ignore_conflicts=True
            )
    else:
        ensure_same_org(org, product)
        changed = bool(
            model.objects.for_org(org).filter(product=product, **{field: record}).delete()[0]
        )
    if changed:
        history_add(
            actor,
            kind,
            record,
            HistoryAction.PRODUCT_LINKED if link else HistoryAction.PRODUCT_UNLINKED,
            {"products": [None, str(product)] if link else [str(product), None]},
            ip,
        )
    return changed


@transaction.atomic
def contact_product_link(
    *, actor: Membership, contact: Contact, product: Product, ip: str | None = None
) -> None:
    """Link a product to a contact. Idempotent."""
    ensure_can(actor, "edit")
    _product_link(actor, contact, product, ip, link=True)


@transaction.atomic
def contact_product_unlink(
    *, actor: Membership, contact: Contact, product: Product, ip: str | None = None
) -> None:
    """Remove a product link from a contact. Idempotent."""
    ensure_can(actor, "edit")
    _product_link(actor, contact, product, ip, link=False)


@transaction.atomic
def account_product_link(
    *, actor: Membership, account: Account, product: Product, ip: str | None = None
) -> None:
    """Link a product to an account. Idempotent."""
    ensure_can(actor, "edit")
    _product_link(actor, account, product, ip, link=True)


@transaction.atomic
def account_product_unlink(
    *, actor: Membership, account: Account, product: Product, ip: str | None = None
) -> None:
    """Remove a product link from an account. Idempotent."""
    ensure_can(actor, "edit")
    _product_link(actor, account, product, ip, link=False)
