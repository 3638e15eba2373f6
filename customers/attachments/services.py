"""Notes and files on a contact or an account (CUS-11): add and delete.

Who may do what: members whose Desk role may "view" customers read them (selectors); adding
needs "edit"; deleting needs "edit" and being the author (the uploader of a file), or Desk
admin ("configure"). Every object handed in must belong to the actor's organization.

Files are checked before anything is stored (size as for ticket attachments, the
`ATTACHMENT_MAX_BYTES` setting; not empty; at most `MAX_FILES` at once), then stored under the
organization's prefix; if the transaction fails, the stored files are removed again, and a
deleted row's file is removed only once the deletion is committed: no orphan, no dangling row.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from customers import services as customer_services
from customers.models import Account, Contact, HistoryAction, RecordKind
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership

from .models import MAX_NOTE_LENGTH, CustomerFile, CustomerNote

MAX_FILES = 10  # at once, as on a ticket's message


def max_file_size() -> int:
    """The same limit as ticket attachments."""
    return getattr(settings, "ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024)


def check_files(files: Sequence[UploadedFile]) -> None:
    """Refuse oversized, empty or too many files, naming each problem."""
    errors = []
    if len(files) > MAX_FILES:
        errors.append(_("Attach at most %(count)d files at once.") % {"count": MAX_FILES})
    for upload in files:
        size = upload.size or 0
        if size > max_file_size():
            errors.append(
                _("“%(name)s” is too large (%(size)s); the limit is %(limit)s.")
                % {
                    "name": upload.name,
                    "size": filesizeformat(size),
                    "limit": filesizeformat(max_file_size()),
                }
            )
        elif not size:
            errors.append(_("“%(name)s” is empty.") % {"name": upload.name})
    if errors:
        raise ValidationError({"files": errors})


def _record(contact: Contact | None, account: Account | None) -> Contact | Account:
    if (contact is None) == (account is None):
        raise ValueError("exactly one of contact and account")
    return contact if contact is not None else account  # type: ignore[return-value]


def may_delete(actor: Membership, item: CustomerNote | CustomerFile) -> bool:
    """The author (uploader) with the right to edit customers, or a Desk admin."""
    if item.org_id != actor.org_id or not customer_services.can(actor, "edit"):
        return False
    author_id = item.author_id if isinstance(item, CustomerNote) else item.uploaded_by_id
    return author_id == actor.user_id or customer_services.can(actor, "configure")


def _history(
    actor: Membership, record: Contact | Account, action: str, changes: dict, ip: str | None
) -> None:
    """One entry in the record's history (CUS-04), in the same transaction."""
    kind = RecordKind.CONTACT if isinstance(record, Contact) else RecordKind.ACCOUNT
    customer_services.history_add(actor, kind, record, action, changes=changes, ip=ip)


def _store(
    *,
    actor: Membership,
    record: Contact | Account,
    note: CustomerNote | None,
    files: Sequence[UploadedFile],
    saved: list[CustomerFile],
) -> None:
    """Store each file and its row; `saved` collects them as they are stored, so the caller
    can remove them again if anything fails."""
    for upload in files:
        name = os.path.basename((upload.name or "file").replace("\\", "/"))[:255] or "file"
        item = CustomerFile(
            org=actor.org,
            note=note,
            name=name,
            size=upload.size or 0,
            content_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
            uploaded_by=actor.user,
        )
        if isinstance(record, Contact):
            item.contact = record
        else:
            item.account = record
        item.file.save(name, upload, save=False)
        saved.append(item)
        item.full_clean()
        item.save()


def _remove_stored(items: Sequence[CustomerFile]) -> None:
    for item in items:
        if item.file.name:
            item.file.storage.delete(item.file.name)


@dataclass
class Added:
    note: CustomerNote | None
    files: list[CustomerFile] = field(default_factory=list)


def attachment_add(
    *,
    actor: Membership,
    contact: Contact | None = None,
    account: Account | None = None,
    text: str = "",
    files: Sequence[UploadedFile] = (),
    ip: str | None = None,
) -> Added:
    """A note (with its files, if any) or, without text, files alone, on one contact or
    account. Refused without text and files, for a note too long, or for a file that is too
    large, empty, or one too many; then nothing is saved."""
    customer_services.ensure_can(actor, "edit")
    ensure_same_org(actor.org, contact, account)
    record = _record(contact, account)
    text = (text or "").strip()
    files = list(files or [])
    if not text and not files:
        raise ValidationError({"text": [_("Write a note or choose a file.")]})
    if len(text) > MAX_NOTE_LENGTH:
        raise ValidationError(
            {"text": [_("A note is at most %(max)d characters.") % {"max": MAX_NOTE_LENGTH}]}
        )
    check_files(files)
    stored: list[CustomerFile] = []
    try:
        with transaction.atomic():
            note = None
            if text:
                note = CustomerNote(org=actor.org, text=text, author=actor.user)
                note.contact, note.account = contact, account
                note.full_clean()
                note.save()
                _history(actor, record, HistoryAction.NOTE_ADDED, {"note": [None, text]}, ip)
            _store(actor=actor, record=record, note=note, files=files, saved=stored)
            for item in stored:
                _history(actor, record, HistoryAction.FILE_ADDED, {"file": [None, item.name]}, ip)
    except BaseException:
        _remove_stored(stored)
        raise
    return Added(note=note, files=stored)


def _delete_files_on_commit(names: list[str], storage) -> None:
    def remove() -> None:
        for name in names:
            storage.delete(name)

    transaction.on_commit(remove)


def _ensure_may_delete(actor: Membership, item: CustomerNote | CustomerFile) -> None:
    customer_services.ensure_can(actor, "edit")
    ensure_same_org(actor.org, item)
    if not may_delete(actor, item):
        raise PermissionDenied(_("Only the author or a Desk administrator can delete this."))


@transaction.atomic
def note_delete(*, actor: Membership, note: CustomerNote, ip: str | None = None) -> None:
    """Delete the note and the files it carries."""
    _ensure_may_delete(actor, note)
    record = note.contact or note.account
    files = list(CustomerFile.objects.for_org(actor.org).filter(note=note))
    _history(actor, record, HistoryAction.NOTE_DELETED, {"note": [note.text, None]}, ip)
    for item in files:
        _history(actor, record, HistoryAction.FILE_DELETED, {"file": [item.name, None]}, ip)
    if files:
        _delete_files_on_commit([f.file.name for f in files], files[0].file.storage)
    note.delete()


@transaction.atomic
def file_delete(*, actor: Membership, item: CustomerFile, ip: str | None = None) -> None:
    _ensure_may_delete(actor, item)
    record = item.contact or item.account
    _history(actor, record, HistoryAction.FILE_DELETED, {"file": [item.name, None]}, ip)
    _delete_files_on_commit([item.file.name], item.file.storage)
    item.delete()


@transaction.atomic
def attachments_contact_replace(
    *, actor: Membership, sources: Sequence[Contact], target: Contact
) -> int:
    """Move the notes and files of `sources` to `target`, for a merge of duplicate contacts
    into `target`: deleting the duplicates would otherwise delete them too. Returns how many
    rows moved. The files stay where they are stored (their names do not name the contact)."""
    customer_services.ensure_can(actor, "edit")
    ensure_same_org(actor.org, target, *sources)
    ids = [c.pk for c in sources if c.pk != target.pk]
    moved = (
        CustomerNote.objects.for_org(actor.org).filter(contact_id__in=ids).update(contact=target)
    )
    moved += (
        CustomerFile.objects.for_org(actor.org).filter(contact_id__in=ids).update(contact=target)
    )
    return moved


def record_files_delete_on_commit(
    *, actor: Membership, contact: Contact | None = None, account: Account | None = None
) -> int:
    """Call in the transaction that deletes a contact or account: its notes and files go with
    it (the rows cascade), and the stored files are removed from disk once the deletion
    commits (not at all if it is refused and rolled back). Returns how many files."""
    record = _record(contact, account)
    ensure_same_org(actor.org, record)
    field = "contact" if contact is not None else "account"
    files = list(CustomerFile.objects.for_org(actor.org).filter(**{field: record}))
    if files:
        _delete_files_on_commit([f.file.name for f in files], files[0].file.storage)
    return len(files)
