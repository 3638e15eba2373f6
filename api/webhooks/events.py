"""Where webhook events come from (issue 16, item 4): listeners registered at start-up
(`connect`, from `ApiConfig.ready`) in the registries of the apps below: the ticket history
(created, updated, replied, SLA escalated, rated), the blueprint engine's state visits (a
transition completed) and ended chats. Each runs inside the writing service's transaction, so
the deliveries are written with the change and sent after it commits."""

from __future__ import annotations

from typing import Any

from ..models import WebhookEvent

# History actions → events. A customer's mail on a ticket is a reply too (`incoming`).
HISTORY_EVENTS = {
    "created": WebhookEvent.TICKET_CREATED,
    "updated": WebhookEvent.TICKET_UPDATED,
    "reopened": WebhookEvent.TICKET_UPDATED,
    "rule": WebhookEvent.TICKET_UPDATED,
    "reply": WebhookEvent.TICKET_REPLIED,
    "incoming": WebhookEvent.TICKET_REPLIED,
    "escalated": WebhookEvent.SLA_ESCALATED,
    "rated": WebhookEvent.RATING_RECEIVED,
}


def _ticket(org_id: int, ticket_id: int) -> dict[str, Any] | None:
    from blueprints.actions.config import ticket_payload
    from helpdesk.tickets.models import Ticket

    ticket = (
        Ticket.objects.for_org(org_id)
        .select_related("department", "status", "contact", "owner")
        .filter(pk=ticket_id)
        .first()
    )
    return ticket_payload(ticket) if ticket is not None else None


def _actor(user) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.display_name, "email": user.email}


def history_recorded(row) -> None:
    from .services import event_emit

    event = HISTORY_EVENTS.get(row.action)
    if event is None:
        return

    def data() -> dict[str, Any]:
        return {
            "ticket": _ticket(row.org_id, row.ticket_id),
            "action": row.action,
            "changes": row.changes or {},
            "actor": _actor(row.actor) if row.actor_id else None,
            "at": row.created_at.isoformat() if row.created_at else None,
        }

    event_emit(org_id=row.org_id, event=event, data=data)


def state_visited(visit) -> None:
    """A visit by a transition is a completed transition."""
    if visit.transition_id is None:
        return
    from blueprints.models import State, Transition
    from helpdesk.tenancy.models import User

    from .services import event_emit

    org_id = visit.ticket.org_id

    def data() -> dict[str, Any]:
        names = dict(
            State.objects.for_org(org_id)
            .filter(pk__in=[p for p in (visit.left_id, visit.entered_id) if p])
            .values_list("pk", "status__name")
        )
        transition = Transition.objects.for_org(org_id).filter(pk=visit.transition_id).first()
        actor = User.objects.filter(pk=visit.actor_id).first() if visit.actor_id else None
        return {
            "ticket": _ticket(org_id, visit.ticket.pk),
            "transition": {
                "id": visit.transition_id,
                "name": transition.name if transition else None,
                "from": names.get(visit.left_id),
                "to": names.get(visit.entered_id),
            },
            "actor": _actor(actor),
            "at": visit.at.isoformat(),
        }

    event_emit(org_id=org_id, event=WebhookEvent.TRANSITION_COMPLETED, data=data)


def chat_ended(conversation) -> None:
    from django.utils import timezone

    from .services import event_emit

    def data() -> dict[str, Any]:
        department = conversation.department
        return {
            "chat": {
                "id": conversation.pk,
                "department": {"id": department.pk, "name": department.name}
                if department
                else None,
                "visitor": {
                    "name": conversation.visitor_name,
                    "email": conversation.visitor_email,
                },
                "accepted_by": _actor(conversation.accepted_by)
                if conversation.accepted_by_id
                else None,
                "messages": conversation.last_seq,
                "started_at": conversation.created_at.isoformat(),
                "ended_at": timezone.now().isoformat(),
            }
        }

    event_emit(org_id=conversation.org_id, event=WebhookEvent.CHAT_ENDED, data=data)


def connect() -> None:
    """Register the listeners (idempotent)."""
    from blueprints.visits import visit_listen
    from chat.services.conversations import conversation_ended_listen
    from helpdesk.tickets.services.history import history_listen

    history_listen(history_recorded)
    visit_listen(state_visited)
    conversation_ended_listen(chat_ended)
