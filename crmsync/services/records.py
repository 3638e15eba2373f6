"""Accounts, contacts, deals and products of the CRM (CRM-01).

Every service takes the acting membership, checks the CRM role (`access`), refuses objects of
another organization (`ensure_same_org`), validates with `full_clean()` and writes in one
transaction. Permission to edit or delete is decided by the owner *as stored*, read under a
row lock, so a sales user cannot take over a colleague's record by posting a new owner.

Saving an account, contact or product writes the sync's outbox row in the same transaction
(`outbox.crm_changed`, CRM-04).
"""

from __future__ import annotations

from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership

from ..models import (
    STAGE_PROBABILITY,
    CrmAccount,
    CrmContact,
    CrmProduct,
    Deal,
    DealContact,
    SyncKind,
)
from ..selectors import crm_users
from .access import ensure_can
from .outbox import crm_changed, snapshot


def _stored(model: type[models.Model], actor: Membership, record) -> SimpleNamespace | None:
    """The record's stored owner (and stage), locked; None for a new record."""
    if record.pk is None:
        return None
    fields = ["owner_id"] + (["stage", "probability"] if model is Deal else [])
    row = (
        model.objects.for_org(actor.org)  # type: ignore[attr-defined]
        .select_for_update()
        .filter(pk=record.pk)
        .values(*fields)
        .first()
    )
    if row is None:
        raise ValidationError(_("This record no longer exists."))
    return SimpleNamespace(**row)


def _check_write(actor: Membership, model, record) -> SimpleNamespace | None:
    ensure_same_org(actor.org, record)
    stored = _stored(model, actor, record)
    ensure_can(actor, "create" if stored is None else "edit", stored)
    new_owner = record.owner_id and (stored is None or record.owner_id != stored.owner_id)
    if new_owner and not crm_users(actor.org).filter(pk=record.owner_id).exists():
        raise ValidationError({"owner": _("The owner must be a user of this CRM.")})
    return stored


@transaction.atomic
def account_save(*, actor: Membership, account: CrmAccount) -> CrmAccount:
    """Create or update an account. New accounts without an owner are the creator's."""
    stored = _check_write(actor, CrmAccount, account)
    if stored is None and account.owner_id is None:
        account.owner_id = actor.user_id
    account.full_clean()
    before = snapshot(CrmAccount, actor.org, account.pk, SyncKind.ACCOUNT)
    account.save()
    crm_changed(actor.org, SyncKind.ACCOUNT, account, before)
    return account


@transaction.atomic
def account_delete(*, actor: Membership, account: CrmAccount) -> None:
    """Delete an account: its contacts and deals stay, without an account."""
    ensure_same_org(actor.org, account)
    ensure_can(actor, "delete", _stored(CrmAccount, actor, account))
    account.delete()


@transaction.atomic
def contact_save(*, actor: Membership, contact: CrmContact) -> CrmContact:
    stored = _check_write(actor, CrmContact, contact)
    if contact.account_id:
        ensure_same_org(actor.org, contact.account)
    if stored is None and contact.owner_id is None:
        contact.owner_id = actor.user_id
    contact.email = contact.email.strip().lower()
    contact.secondary_email = contact.secondary_email.strip().lower()
    if contact.email and contact.email == contact.secondary_email:
        raise ValidationError(
            {"secondary_email": _("The secondary email must differ from the email.")}
        )
    contact.full_clean()
    before = snapshot(CrmContact, actor.org, contact.pk, SyncKind.CONTACT)
    contact.save()
    crm_changed(actor.org, SyncKind.CONTACT, contact, before)
    return contact


@transaction.atomic
def contact_delete(*, actor: Membership, contact: CrmContact) -> None:
    """Delete a contact; it leaves the deals it was part of."""
    ensure_same_org(actor.org, contact)
    ensure_can(actor, "delete", _stored(CrmContact, actor, contact))
    contact.delete()


@transaction.atomic
def deal_save(*, actor: Membership, deal: Deal, contacts: list[CrmContact] | None = None) -> Deal:
    """Create or update a deal and, when `contacts` is given, set its contacts to exactly
    those. An empty probability takes the stage's usual one; so does a probability left at
    the old stage's usual value when the stage changes."""
    stored = _check_write(actor, Deal, deal)
    if deal.account_id:
        ensure_same_org(actor.org, deal.account)
    ensure_same_org(actor.org, *(contacts or []))
    if stored is None and deal.owner_id is None:
        deal.owner_id = actor.user_id
    if deal.probability is None or (
        stored is not None
        and stored.stage != deal.stage
        and stored.probability == STAGE_PROBABILITY.get(stored.stage)
        and deal.probability == stored.probability
    ):
        deal.probability = STAGE_PROBABILITY[deal.stage]
    deal.full_clean()
    deal.save()
    if contacts is not None:
        wanted = {c.pk for c in contacts}
        links = DealContact.objects.for_org(actor.org).filter(deal=deal)
        links.exclude(contact_id__in=wanted).delete()
        present = set(links.values_list("contact_id", flat=True))
        DealContact.objects.bulk_create(
            [
                DealContact(org=actor.org, deal=deal, contact_id=pk)
                for pk in sorted(wanted - present)
            ]
        )
    return deal


@transaction.atomic
def deal_delete(*, actor: Membership, deal: Deal) -> None:
    ensure_same_org(actor.org, deal)
    ensure_can(actor, "delete", _stored(Deal, actor, deal))
    deal.delete()


@transaction.atomic
def product_save(*, actor: Membership, product: CrmProduct) -> CrmProduct:
    """Products are the CRM admins' to keep (sales users read them). Codes are unique in the
    organization, whatever their case."""
    ensure_same_org(actor.org, product)
    ensure_can(actor, "configure")
    product.code = product.code.strip()
    if product.code:
        taken = (
            CrmProduct.objects.for_org(actor.org)
            .filter(code__iexact=product.code)
            .exclude(pk=product.pk)
            .exists()
        )
        if taken:
            raise ValidationError({"code": _("Another product already has this code.")})
    product.full_clean(validate_constraints=False)
    before = snapshot(CrmProduct, actor.org, product.pk, SyncKind.PRODUCT)
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError as exc:  # the same code saved meanwhile by someone else
        raise ValidationError({"code": _("Another product already has this code.")}) from exc
    crm_changed(actor.org, SyncKind.PRODUCT, product, before)
    return product


@transaction.atomic
def product_delete(*, actor: Membership, product: CrmProduct) -> None:
    ensure_same_org(actor.org, product)
    ensure_can(actor, "configure")
    product.delete()
