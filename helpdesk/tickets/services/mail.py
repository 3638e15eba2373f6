"""Email of public replies and forwards (TKT-02), threaded with Message-ID, In-Reply-To and
References, sent from the department's address."""

from __future__ import annotations

import re
from email.mime.image import MIMEImage
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.db.models import Q

from helpdesk.mail import build_email

from ..html import attachment_ids, html_to_text
from ..models import Attachment, Thread


def department_from_address(department) -> str:
    address = department.email or settings.DEFAULT_FROM_EMAIL
    if "<" in address:
        return address
    return formataddr((department.name, address))


def _mail_domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip(">").strip() or "madoguchi.localhost"


def thread_mail_send(*, org_id: int, thread_id: int) -> bool:
    """Send a reply or forward once. The thread is claimed by setting its Message-ID with a
    conditional UPDATE, so a retried or duplicated task never sends twice."""
    thread = (
        Thread.objects.filter(org_id=org_id, pk=thread_id)
        .select_related("ticket__department", "ticket__contact", "author")
        .first()
    )
    if thread is None or thread.kind not in (Thread.Kind.REPLY, Thread.Kind.FORWARD):
        return False
    ticket, department = thread.ticket, thread.ticket.department
    sender = department_from_address(department)
    message_id = make_msgid(domain=_mail_domain(sender))
    earlier = list(
        Thread.objects.for_org(org_id)
        .filter(ticket=ticket, pk__lt=thread.pk)
        .filter(~Q(message_id=""), kind__in=[Thread.Kind.REPLY, Thread.Kind.INCOMING])
        .order_by("pk")
        .values_list("message_id", flat=True)
    )
    claimed = (
        Thread.objects.for_org(org_id)
        .filter(pk=thread.pk, message_id="")
        .update(
            message_id=message_id,
            in_reply_to=earlier[-1] if earlier else "",
            references=" ".join(earlier),
        )
    )
    if not claimed:
        return False
    recipients = [a.strip() for a in thread.to.split(",") if a.strip()]
    cc = [a.strip() for a in thread.cc.split(",") if a.strip()]
    language = getattr(thread.author, "language", None)  # build_email falls back
    attachments = list(thread.attachments.all())
    body_html, inline = _inline_images(thread.body, attachments, _mail_domain(sender))
    context = {
        "thread": thread,
        "ticket": ticket,
        "department": department,
        "text": html_to_text(thread.body),
        "body_html": body_html,
    }
    # X-Madoguchi-Org: mail of ours that comes back creates nothing (mailin, TKT-07).
    headers = {"Message-ID": message_id, "X-Madoguchi-Org": str(org_id)}
    if earlier:
        headers["In-Reply-To"] = earlier[-1]
        headers["References"] = " ".join(earlier)
    message = build_email(
        "tickets/emails/thread",
        context,
        language,
        from_email=sender,
        to=recipients,
        cc=cc,
        headers=headers,
    )
    for attachment in attachments:
        with attachment.file.open("rb") as handle:
            content = handle.read()
        content_id = inline.get(attachment.pk)
        if content_id is None:
            message.attach(attachment.name, content, attachment.content_type)
            continue
        # An image the editor showed inline goes inline in the mail too: the page's address
        # needs a desk login, so the HTML part points at the image's Content-ID instead.
        image = MIMEImage(content, _subtype=attachment.content_type.split("/")[-1])
        image.add_header("Content-ID", f"<{content_id}>")
        image.add_header("Content-Disposition", "inline", filename=attachment.name)
        message.attach(image)
    try:
        message.send()
    except Exception:
        # Release the claim so the task's retry sends it.
        Thread.objects.for_org(org_id).filter(pk=thread.pk).update(message_id="")
        raise
    return True


def _inline_images(
    body: str, attachments: list[Attachment], domain: str
) -> tuple[str, dict[int, str]]:
    """The body's HTML with its inline images pointing at Content-IDs, and those ids by
    attachment (TKT-02). Only this message's own images count."""
    shown = attachment_ids(body)
    inline = {
        a.pk: f"image-{a.pk}@{domain}"
        for a in attachments
        if a.pk in shown and a.content_type.startswith("image/")
    }
    for pk, content_id in inline.items():
        body = re.sub(rf'src="[^"]*/attachments/{pk}/"', f'src="cid:{content_id}"', body)
    return body, inline
