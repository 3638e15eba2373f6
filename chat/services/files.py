"""Files in a chat (CHAT-07): the visitor attaches a file from the widget. It is stored under
the organization's prefix with an unguessable name (like tickets' attachments), limited in
size (`CHAT_ATTACHMENT_MAX_BYTES`, 10 MB) and to the types tickets accept, and appears in the
chat as a message naming it; each side downloads it through a view that checks its access
(the visitor's token, the operator's department) and serves it with
helpdesk.http.stored_file_response (inline only for safe types, never sniffed, sandboxed)."""

from __future__ import annotations

import mimetypes
import os

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import Http404
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from helpdesk.tickets.services.threads import ALLOWED_EXTENSIONS

from ..models import ChatAttachment, ChatMessage, Conversation, Sender
from .conversations import _append


def max_bytes() -> int:
    return int(getattr(settings, "CHAT_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))


def check_upload(upload: UploadedFile | None) -> None:
    if upload is None:
        raise ValidationError({"file": [_("Choose a file.")]})
    name = upload.name or ""
    ext = os.path.splitext(name)[1].lower()
    if ext not in ALLOWED_EXTENSIONS:
        raise ValidationError({"file": [_("Files of this type are not allowed.")]})
    if not upload.size:
        raise ValidationError({"file": [_("The file is empty.")]})
    if upload.size > max_bytes():
        raise ValidationError(
            {
                "file": [
                    _("The file is too large (%(size)s); the limit is %(limit)s.")
                    % {"size": filesizeformat(upload.size), "limit": filesizeformat(max_bytes())}
                ]
            }
        )


def file_send_visitor(*, conversation: Conversation, upload: UploadedFile | None) -> ChatMessage:
    """The visitor's file, as a message of the chat (the conversation came from its token).
    A chat that has ended takes no file; a file whose row is not saved is deleted again."""
    check_upload(upload)
    assert upload is not None
    if conversation.state not in Conversation.IN_PROGRESS:
        raise ValidationError({"file": [_("This chat has ended.")]})
    name = os.path.basename(upload.name or "file").replace("\x00", "")[:255] or "file"
    attachment = ChatAttachment(
        org_id=conversation.org_id,
        conversation=conversation,
        name=name,
        size=upload.size or 0,
        content_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
        sender=Sender.VISITOR,
    )
    attachment.file.save(name, upload, save=False)
    try:
        with transaction.atomic():
            attachment.save()
            return _append(
                conversation, sender=Sender.VISITOR, author=None, body=name, attachment=attachment
            )
    except Exception:
        attachment.file.storage.delete(attachment.file.name)
        raise


def attachment_of(conversation: Conversation, attachment_id: int) -> ChatAttachment:
    """A file of this conversation; 404 for another chat's (or organization's) file."""
    attachment = (
        ChatAttachment.objects.for_org(conversation.org_id)
        .filter(conversation=conversation, pk=attachment_id)
        .first()
    )
    if attachment is None:
        raise Http404
    return attachment
