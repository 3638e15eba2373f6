"""Reading chat's setup: departments with their counts, operators and the members who may
become one, email settings in the page's order, chats in progress (CHAT-01..CHAT-06)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from helpdesk.tenancy.models import AdminLevel, Membership, Organization, User

from .models import ChatDepartment, ChatOperator, Conversation, EmailKind, EmailSetting


def departments_for_setup(org: Organization) -> QuerySet[ChatDepartment]:
    """Every chat department of `org`, by name, with its operator count."""
    return (
        ChatDepartment.objects.for_org(org)
        .annotate(operator_count=Count("operator_links", distinct=True))
        .order_by("name", "pk")
    )


def chat_members(org: Organization) -> QuerySet[Membership]:
    """Members who may be operators: active, with Chat access (a Chat role, or the account
    admin, who reaches every app)."""
    return (
        Membership.objects.for_org(org)
        .filter(
            Q(status=Membership.Status.ACTIVE)
            & (~Q(chat_role="") | Q(admin_level=AdminLevel.ACCOUNT))
        )
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )


def operators_of(org: Organization, department: ChatDepartment) -> list[User]:
    links = (
        ChatOperator.objects.for_org(org)
        .filter(department=department)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
    return [link.user for link in links]


def operator_candidates(org: Organization, department: ChatDepartment) -> QuerySet[Membership]:
    """Chat members of `org` who are not the department's operators yet."""
    taken = ChatOperator.objects.for_org(org).filter(department=department)
    return chat_members(org).exclude(user_id__in=taken.values("user_id"))


def email_settings_of(org: Organization, department: ChatDepartment) -> list[EmailSetting]:
    """One setting per kind, in the page's order; a kind without a row reads as off."""
    rows = {s.kind: s for s in EmailSetting.objects.for_org(org).filter(department=department)}
    return [
        rows.get(kind) or EmailSetting(org=org, department=department, kind=kind)
        for kind in EmailKind.values
    ]


def chats_in_progress(org: Organization, department: ChatDepartment) -> int:
    """Waiting and live chats of the department: while any exist it is neither disabled nor
    deleted (CHAT-06)."""
    return (
        Conversation.objects.for_org(org)
        .filter(department=department, state__in=Conversation.IN_PROGRESS)
        .count()
    )


def conversations_in_progress_for(actor: Membership) -> QuerySet[Conversation]:
    """Waiting and live chats the member may answer: those of the departments they operate,
    or every department's for a chat supervisor or chat admin (CHAT-07). Waiting ones first,
    oldest first."""
    from .services.access import can_configure

    chats = (
        Conversation.objects.for_org(actor.org)
        .filter(state__in=Conversation.IN_PROGRESS)
        .select_related("department", "accepted_by")
    )
    if not can_configure(actor):
        operated = ChatOperator.objects.for_org(actor.org).filter(user_id=actor.user_id)
        chats = chats.filter(department_id__in=operated.values("department_id"))
    return chats.order_by("-state", "created_at", "pk")  # "waiting" > "live": waiting first
