"""Blocking a visitor's address (CHAT-04, issue 15 item 5). An operator of the chat blocks the
visitor's IP from the console: the chat ends, no new chat starts from that address (the
widget says why), and the department's *IP block* addresses hear of it when that setting is
on. Supervisors and chat admins see the blocked addresses in Setup and unblock them."""

from __future__ import annotations

from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from helpdesk.tenancy.models import Membership, Organization

from ..models import BlockedIP, Conversation, EmailKind
from .access import ensure_can_configure
from .conversations import can_operate, conversation_end
from .transcripts import send, setting_addresses, staff_language


def is_blocked(org: Organization | int, ip: str | None) -> bool:
    if not ip:
        return False
    return BlockedIP.objects.for_org(org).filter(ip=ip).exists()


def blocked_message() -> str:
    return _("Chat is not available from your network address.")


@transaction.atomic
def visitor_block(*, actor: Membership, conversation: Conversation) -> BlockedIP:
    """Block the chat's visitor address and end the chat. Blocking an address twice keeps the
    first block."""
    if conversation.org_id != actor.org.id or not can_operate(actor, conversation.department):
        raise PermissionDenied
    if not conversation.visitor_ip:
        raise ValidationError(_("This chat has no visitor address to block."))
    block, created = BlockedIP.objects.for_org(actor.org).get_or_create(
        org=actor.org,
        ip=conversation.visitor_ip,
        defaults={"conversation": conversation, "blocked_by": actor.user},
    )
    conversation_end(conversation=conversation, actor=actor)
    if created:
        transaction.on_commit(partial(_mail, actor.org.id, block.pk))
    return block


def _mail(org_id: int, block_id: int) -> None:
    block = (
        BlockedIP.objects.for_org(org_id)
        .select_related("conversation", "conversation__department", "blocked_by")
        .filter(pk=block_id)
        .first()
    )
    if block is None or block.conversation is None:
        return
    conversation = block.conversation
    addresses = setting_addresses(org_id, conversation.department_id, EmailKind.IP_BLOCK)
    if not addresses:
        return
    with translation.override(staff_language(org_id)):
        subject = _("Visitor IP address blocked: %(ip)s") % {"ip": block.ip}
        body = render_to_string(
            "chat/mail/ip_block.txt",
            {
                "block": block,
                "conversation": conversation,
                "department": conversation.department.name if conversation.department else "",
            },
        )
    send(
        org_id=org_id,
        department_id=conversation.department_id,
        subject=subject,
        body=body,
        to=addresses,
    )


def blocked_list(actor: Membership):
    ensure_can_configure(actor)
    return BlockedIP.objects.for_org(actor.org).select_related("blocked_by", "conversation")


def block_of(actor: Membership, block_id: int) -> BlockedIP:
    block = BlockedIP.objects.for_org(actor.org).filter(pk=block_id).first()
    if block is None:
        raise Http404
    return block


@transaction.atomic
def visitor_unblock(*, actor: Membership, block: BlockedIP) -> None:
    ensure_can_configure(actor)
    if block.org_id != actor.org.id:
        raise PermissionDenied
    BlockedIP.objects.for_org(actor.org).filter(pk=block.pk).delete()
