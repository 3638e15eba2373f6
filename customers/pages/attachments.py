"""The Attachments tab of a contact or an account (CUS-11): notes (each with the files added
with it) and every file of the record; add a note and/or files; download a file through an
access-checked view (never a public media URL); delete (the author, or a Desk admin).

The tab answers an HTML fragment, like the other tabs (customers.pages.activities: links to
the record page without JavaScript; forms post here; a refused form comes back in place with
status 400)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from helpdesk.http import apply_errors, client_ip, stored_file_response
from helpdesk.tickets.forms import MultipleFileField

from .. import services
from ..attachments.models import MAX_NOTE_LENGTH, CustomerFile, CustomerNote
from ..attachments.selectors import files_page, notes_page
from ..attachments.services import (
    MAX_FILES,
    attachment_add,
    file_delete,
    max_file_size,
    may_delete,
    note_delete,
)
from ..models import Account, Contact
from .common import tab_record, tab_urls

TAB = "attachments"


class AttachmentForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    files = MultipleFileField(label=gettext_lazy("Files"), required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "attachment_%s")
        super().__init__(*args, **kwargs)


def _context(
    request: HttpRequest, kind: str, record: Contact | Account, form: AttachmentForm | None
) -> dict[str, Any]:
    org, member = request.org, request.membership
    urls = tab_urls(request, kind, record, TAB)
    notes = notes_page(org, **{kind: record}, page=request.GET.get("npage") or 1)
    files = files_page(org, **{kind: record}, page=request.GET.get("fpage") or 1)
    keep = {"npage": notes.number, "fpage": files.number}

    def link(**change: int) -> dict[str, str]:
        query = {**keep, **change}
        return {
            "hx": f"{urls['tab']}?{urlencode(query)}",
            "href": f"{urls['page']}?{urlencode({'tab': TAB, **query})}",
        }

    for item in [*notes, *files]:
        item.deletable = may_delete(member, item)
    for note in notes:
        note.file_list = list(note.files.all())
    can_edit = services.can(member, "edit")
    return {
        "kind": kind,
        "record": record,
        "notes": notes,
        "files": files,
        "notes_prev": link(npage=notes.number - 1) if notes.has_previous() else None,
        "notes_next": link(npage=notes.number + 1) if notes.has_next() else None,
        "files_prev": link(fpage=files.number - 1) if files.has_previous() else None,
        "files_next": link(fpage=files.number + 1) if files.has_next() else None,
        "can_edit": can_edit,
        "form": (form or AttachmentForm()) if can_edit else None,
        "max_size": max_file_size(),
        "max_files": MAX_FILES,
        "tab_url": urls["tab"],
        "here": f"{urls['tab']}?{urlencode(keep)}",
        "keep_query": urlencode(keep),
        "page_url": urls["page"],
    }


def _render(
    request: HttpRequest,
    kind: str,
    record: Contact | Account,
    form: AttachmentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = _context(request, kind, record, form)
    if status != 200 and not request.htmx:  # a plain form post: a page around the tab
        context["tab_template"] = "customers/tabs/attachments.html"
        return render(request, "customers/tabs/_standalone.html", context, status=status)
    return render(request, "customers/tabs/attachments.html", context, status=status)


def _back(request: HttpRequest, kind: str, record: Contact | Account) -> HttpResponse:
    if request.htmx:
        return _render(request, kind, record)
    return redirect(f"{tab_urls(request, kind, record, TAB)['page']}?{urlencode({'tab': TAB})}")


def _tab(request: HttpRequest, kind: str, record_id: int) -> HttpResponse:
    """GET: the tab. POST: a note, with files or not, or files alone."""
    record = tab_record(request, kind, record_id)
    if request.method != "POST":
        return _render(request, kind, record)
    services.ensure_can(request.membership, "edit")
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            added = attachment_add(
                actor=request.membership,
                **{kind: record},
                text=form.cleaned_data["text"],
                files=form.cleaned_data["files"],
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Note added.") if added.note else _("Files added."))
            return _back(request, kind, record)
    return _render(request, kind, record, form, status=400)


def contact_attachments(request: HttpRequest, contact_id: int) -> HttpResponse:
    return _tab(request, "contact", contact_id)


def account_attachments(request: HttpRequest, account_id: int) -> HttpResponse:
    return _tab(request, "account", account_id)


def _file(request: HttpRequest, file_id: int) -> CustomerFile:
    return get_object_or_404(
        CustomerFile.objects.for_org(request.org).select_related("contact", "account"),
        pk=file_id,
    )


def file_download(request: HttpRequest, file_id: int) -> FileResponse:
    """The file, to members who may see customers. Anything a browser could run or render
    as a page is a download; the type is never sniffed; the response is sandboxed."""
    services.ensure_can(request.membership, "view")
    item = _file(request, file_id)
    return stored_file_response(item.file, name=item.name, content_type=item.content_type)


def _record_of(item: CustomerFile | CustomerNote) -> tuple[str, Contact | Account]:
    if item.contact_id:
        return "contact", item.contact
    return "account", item.account


@require_POST
def file_remove(request: HttpRequest, file_id: int) -> HttpResponse:
    services.ensure_can(request.membership, "edit")
    item = _file(request, file_id)
    kind, record = _record_of(item)
    file_delete(actor=request.membership, item=item, ip=client_ip(request))
    messages.success(request, _("“%(name)s” deleted.") % {"name": item.name})
    return _back(request, kind, record)


@require_POST
def note_remove(request: HttpRequest, note_id: int) -> HttpResponse:
    services.ensure_can(request.membership, "edit")
    note = get_object_or_404(
        CustomerNote.objects.for_org(request.org).select_related("contact", "account"),
        pk=note_id,
    )
    kind, record = _record_of(note)
    note_delete(actor=request.membership, note=note, ip=client_ip(request))
    messages.success(request, _("Note deleted."))
    return _back(request, kind, record)
