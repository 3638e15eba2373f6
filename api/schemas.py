"""Typed inputs and outputs of the API (ninja schemas, so pydantic): the OpenAPI schema is
generated from these. Inputs refuse unknown fields (a typo is a 422, not silently ignored)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field

Sort = Literal[
    "-created", "created", "-updated", "-activity", "due", "-priority", "-number", "number"
]
View = Literal["all", "open", "on_hold", "closed", "mine", "overdue", "escalated", "high"]
PriorityValue = Literal["low", "medium", "high", "urgent"]
ChannelValue = Literal["email", "web", "chat", "phone", "crm"]
StatusKindValue = Literal["open", "on_hold", "closed"]
BodyFormatValue = Literal["text", "html"]


class Input(Schema):
    model_config = ConfigDict(extra="forbid")


class Problem(Schema):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    errors: dict[str, list[str]] | None = Field(
        None, description="Messages per field, as a form would show them."
    )


# --- Small references --------------------------------------------------------------------
class Ref(Schema):
    id: int
    name: str


class PersonRef(Schema):
    id: int
    name: str
    email: str


class ContactRef(Schema):
    id: int
    name: str
    email: str


class StatusOut(Schema):
    id: int
    name: str
    kind: StatusKindValue
    department_id: int
    is_default: bool


class DepartmentOut(Schema):
    id: int
    name: str
    is_enabled: bool


class ProductOut(Schema):
    id: int
    name: str
    code: str
    department_id: int | None
    description: str
    is_active: bool


# --- Tickets -----------------------------------------------------------------------------
class TicketOut(Schema):
    number: int
    subject: str
    status: StatusOut
    priority: PriorityValue
    channel: ChannelValue
    department: Ref
    contact: ContactRef | None
    account: Ref | None
    owner: PersonRef | None
    due_at: dt.datetime | None
    overdue: bool
    custom_fields: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    last_activity_at: dt.datetime
    closed_at: dt.datetime | None


class TicketPage(Schema):
    items: list[TicketOut]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; null on the last page."
    )


class AttachmentOut(Schema):
    id: int
    name: str
    size: int
    content_type: str
    thread_id: int | None
    created_at: dt.datetime
    url: str


class ThreadOut(Schema):
    id: int
    kind: Literal["reply", "forward", "comment", "incoming"] | str
    author: PersonRef | None
    contact: ContactRef | None
    body_html: str
    body_text: str
    to: str
    cc: str
    created_at: dt.datetime
    attachments: list[AttachmentOut]


class TicketDetail(TicketOut):
    description_html: str
    description_text: str
    threads: list[ThreadOut]
    attachments: list[AttachmentOut] = Field(description="Files not attached to a thread entry.")


class TicketIn(Input):
    """A new ticket. Give the contact by `contact_id` or by `contact_email` (found, or created
    with `contact_name`), not both."""

    subject: str = Field(max_length=255)
    description: str = Field("", max_length=100_000)
    description_format: BodyFormatValue = "text"
    department_id: int = Field(ge=1)
    status_id: int | None = Field(None, ge=1)
    priority: PriorityValue | None = None
    channel: ChannelValue | None = None
    contact_id: int | None = Field(None, ge=1)
    contact_email: str | None = Field(None, max_length=254)
    contact_name: str = Field("", max_length=100)
    account_id: int | None = Field(None, ge=1)
    owner_id: int | None = Field(None, ge=1)
    due_at: dt.datetime | None = None
    custom_fields: dict[str, Any] | None = None


class TicketPatch(Input):
    """The fields to change; fields left out stay as they are. `null` clears a field that may
    be empty (contact, account, owner, due date)."""

    subject: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=100_000)
    description_format: BodyFormatValue = "text"
    department_id: int | None = Field(None, ge=1)
    status_id: int | None = Field(None, ge=1)
    priority: PriorityValue | None = None
    channel: ChannelValue | None = None
    contact_id: int | None = Field(None, ge=1)
    contact_email: str | None = Field(None, max_length=254)
    contact_name: str = Field("", max_length=100)
    account_id: int | None = Field(None, ge=1)
    owner_id: int | None = Field(None, ge=1)
    due_at: dt.datetime | None = None
    custom_fields: dict[str, Any] | None = None


class TicketChanges(Schema):
    ticket: TicketOut
    changes: dict[str, list[Any]] = Field(description="Per field: [before, after].")


# --- Customers ---------------------------------------------------------------------------
class ContactOut(Schema):
    id: int
    first_name: str
    last_name: str
    name: str
    email: str
    secondary_email: str
    phone: str
    mobile: str
    title: str
    account: Ref | None
    owner: PersonRef | None
    description: str
    tags: list[str]
    custom_fields: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


class ContactPage(Schema):
    items: list[ContactOut]
    next_cursor: str | None = None


class ContactIn(Input):
    first_name: str = Field("", max_length=100)
    last_name: str = Field(max_length=100)
    email: str = Field("", max_length=254)
    secondary_email: str = Field("", max_length=254)
    phone: str = Field("", max_length=40)
    mobile: str = Field("", max_length=40)
    title: str = Field("", max_length=100)
    account_id: int | None = Field(None, ge=1)
    owner_id: int | None = Field(None, ge=1)
    description: str = Field("", max_length=5000)
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = None


class ContactPatch(Input):
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    email: str | None = Field(None, max_length=254)
    secondary_email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40)
    mobile: str | None = Field(None, max_length=40)
    title: str | None = Field(None, max_length=100)
    account_id: int | None = Field(None, ge=1)
    owner_id: int | None = Field(None, ge=1)
    description: str | None = Field(None, max_length=5000)
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = None


class AccountOut(Schema):
    id: int
    name: str
    website: str
    phone: str
    email: str
    owner: PersonRef | None
    description: str
    tags: list[str]
    custom_fields: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


class AccountPage(Schema):
    items: list[AccountOut]
    next_cursor: str | None = None


class AccountIn(Input):
    name: str = Field(max_length=200)
    website: str = Field("", max_length=200)
    phone: str = Field("", max_length=40)
    email: str = Field("", max_length=254)
    owner_id: int | None = Field(None, ge=1)
    description: str = Field("", max_length=5000)
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = None


class AccountPatch(Input):
    name: str | None = Field(None, max_length=200)
    website: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=254)
    owner_id: int | None = Field(None, ge=1)
    description: str | None = Field(None, max_length=5000)
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = None
