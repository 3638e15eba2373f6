"""Contacts, accounts and products: saving, deleting, linking products, merging duplicate
contacts (CUS-01).

Every function takes the acting membership, checks its Desk role (`helpdesk.tenancy.roles`:
"edit" for contacts, accounts and product links, "configure" for the product catalogue) and
works inside `actor.org` only: a record of another organization handed to a service is refused
(`ensure_same_org`). Writes are atomic: a refused change leaves nothing half-saved.

This module is the customer records' layer: it imports tenancy only, never tickets (README,
Architecture). Contacts are found or created by email through `contact_get_or_create_by_email`
alone, whatever the channel (ticket form, later mail, chat and the CRM sync).

A package of domain modules (access and helpers, listeners, history, tags, custom fields,
records, products, merging, bulk creation); this module is its public face.
"""

from __future__ import annotations

from .bulk import BULK_FIELDS, records_create_bulk
from .common import MESSAGES, can, ensure_can, owner_candidates
from .fields import (
    CF_PREFIX,
    customer_field_save,
    customer_field_set_active,
    customer_fields,
    customer_fields_reorder,
)
from .history import KINDS, history_add, history_add_bulk, history_add_many
from .listeners import RecordChangeListener, change_origin, record_change_listen
from .merge import MERGED_FIELDS, contacts_lock, contacts_merge, duplicate_contact_groups
from .products import (
    account_product_link,
    account_product_unlink,
    contact_product_link,
    contact_product_unlink,
    product_delete,
    product_save,
)
from .records import (
    ACCOUNT_TRACKED,
    CONTACT_TRACKED,
    PRODUCT_TRACKED,
    account_delete,
    account_save,
    contact_delete,
    contact_get_or_create_by_email,
    contact_save,
)
from .tags import (
    TAG_MAX_LENGTH,
    TAG_SUGGESTIONS,
    TAGS_PER_RECORD,
    account_set_tags,
    contact_set_tags,
    tag_clean_name,
    tag_get_or_create,
    tag_names_clean,
    tags_suggest,
)

__all__ = [
    "ACCOUNT_TRACKED",
    "BULK_FIELDS",
    "CF_PREFIX",
    "CONTACT_TRACKED",
    "KINDS",
    "MERGED_FIELDS",
    "MESSAGES",
    "PRODUCT_TRACKED",
    "RecordChangeListener",
    "TAGS_PER_RECORD",
    "TAG_MAX_LENGTH",
    "TAG_SUGGESTIONS",
    "account_delete",
    "account_product_link",
    "account_product_unlink",
    "account_save",
    "account_set_tags",
    "can",
    "change_origin",
    "contact_delete",
    "contact_get_or_create_by_email",
    "contact_product_link",
    "contact_product_unlink",
    "contact_save",
    "contact_set_tags",
    "contacts_lock",
    "contacts_merge",
    "customer_field_save",
    "customer_field_set_active",
    "customer_fields",
    "customer_fields_reorder",
    "duplicate_contact_groups",
    "ensure_can",
    "history_add",
    "history_add_bulk",
    "history_add_many",
    "owner_candidates",
    "product_delete",
    "product_save",
    "record_change_listen",
    "records_create_bulk",
    "tag_clean_name",
    "tag_get_or_create",
    "tag_names_clean",
    "tags_suggest",
]
