"""ORG-01: the cross-tenant walker.

Walks every URL pattern as Alice (account admin of Acme, the most powerful member there):
- with Globex's portal: 404 for every portal URL, never Globex's data;
- with Acme's portal and Globex's object IDs (one at a time, the others Acme's): 404 or 403,
  and Globex's rows unchanged after a POST.
A URL pattern that the walker does not know how to fill makes it fail: when you add a URL,
teach the walker (OBJECT_KWARGS, GLOBAL_URLS or PUBLIC_TENANT_URLS).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from helpdesk.streams import is_stream_path
from helpdesk.tenancy.models import BusinessInterval, Department, Holiday, Membership, Team
from helpdesk.tenancy.services.invitations import invitation_token
from helpdesk.tenancy.services.members import member_invite
from helpdesk.tickets.canned.models import CannedResponse
from tests.conftest import login
from tests.factories import DepartmentFactory, HolidayFactory, TeamFactory

# Pages outside any organization, with the reason each is safe.
GLOBAL_URLS = {
    "home": "redirects to the user's own organizations",
    "healthz": "no tenant data",
    "signup": "creates a new organization",
    "signup_sent": "the same answer to every sign-up",
    "signup_confirm": "signed token of one sign-up",
    "heartbeat_stream": "no tenant data",
    "org_list": "lists the user's own memberships",
    "set_language": "stores the user's own language",
    "login": "authentication",
    "logout": "authentication",
    "password_reset": "authentication",
    "password_reset_done": "authentication",
    "password_reset_confirm": "signed token for one user",
    "password_reset_complete": "authentication",
}
# Portal pages that non-members may open because a secret token is the credential.
PUBLIC_TENANT_URLS = {"invitation_accept"}
# The help center (TKT-08) is for customers, not members. Here (help center off, as by default)
# each answers the 404 of a missing portal; tests/tickets/helpcenter/test_isolation.py walks
# them again as a signed-in customer of Acme with Globex's objects.
HELP_CENTER_URLS = {
    "help:home": "the welcome page; a customer's own tickets only with their portal's session",
    "help:signup": "asks for a name and address, mails a link; the same answer for any address",
    "help:signin": "asks for an address, mails a link; the same answer for any address",
    "help:sent": "the same page for every address",
    "help:link": "a signed, expiring, single-use link of one portal is the credential",
    "help:signout": "ends the visitor's own help-center session",
    "help:logo": "the logo the help center's public pages show",
    "help:theme": "the colours the help center's public pages use",
    "help:ticket_new": "needs the customer's session of this portal",
    "help:ticket": "the customer's own tickets only (or their account's, if allowed)",
    "help:ticket_reply": "the customer's own tickets only",
    "help:ticket_rate": "the customer's own closed tickets only",
    "help:attachment": "files of the public thread of the customer's own tickets only",
    "help:rate": "a link signed for one ticket and its contact is the credential",
}
PUBLIC_TENANT_URLS |= set(HELP_CENTER_URLS)
# The chat widget's endpoints (CHAT-02, CHAT-07) answer visitors of any website: a public
# department's embed key, or a conversation's secret token, is the credential; without the
# token a conversation is the 404 of a missing one. Input they cannot read is a 400 and the
# wrong method a 405, whoever's object the URL names.
CHAT_WIDGET_URLS = {
    "chat:widget_script": "the same script for every public department's embed key",
    "chat:widget_config": "a public department's name and the portal's public departments",
    "chat:widget_start": "starts a chat in a public department of this portal",
    "chat:visitor_messages": "the conversation's token is the credential",
    "chat:visitor_typing": "the conversation's token is the credential",
    "chat:visitor_end": "the conversation's token is the credential",
    "chat:visitor_leave_message": "the conversation's token is the credential (a missed chat)",
    # Not walked, like every chat stream (see below).
    "chat:visitor_stream": "the conversation's token is the credential",
    # Files, feedback, transcript (CHAT-07) and page reports (CHAT-08, the embed key).
    "chat:visitor_files": "the conversation's token is the credential",
    "chat:visitor_file": "the conversation's token is the credential (a file of that chat)",
    "chat:visitor_feedback": "the conversation's token is the credential",
    "chat:visitor_transcript": "the conversation's token is the credential",
    "chat:widget_track": "a public department's embed key; the visitor's own key",
}
PUBLIC_TENANT_URLS |= set(CHAT_WIDGET_URLS)
# The mail relay's inbound endpoint (TKT-07) is a portal URL for non-members too: the
# organization's inbound secret in the Authorization header is the credential, and without it
# the answer is the very 404 of a missing portal, so the walker's strict checks apply to it.


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            yield from _walk(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield prefix + str(entry.pattern), name, entry


def _fill(route: str, kwargs: dict[str, str]) -> str:
    path = route
    for key, value in kwargs.items():
        for conv in ("int", "str", "slug", "uuid", "path"):
            path = path.replace(f"<{conv}:{key}>", str(value))
        path = path.replace(f"<{key}>", str(value))
    assert "<" not in path, f"walker cannot fill {route!r}: add its arguments to OBJECT_KWARGS"
    return "/" + path


def _objects(tenant, extra_tickets: int = 0) -> dict[str, object]:
    """One object of each kind the URLs address, in `tenant`'s organization. Ticket numbers
    restart at 1 in every organization: `extra_tickets` gives Globex's ticket a number that
    Acme does not have, so asking Acme's portal for it must find nothing."""
    department = tenant.department
    team = TeamFactory(org=tenant.org, department=department)
    holiday = HolidayFactory(org=tenant.org, department=department, date=dt.date(2031, 5, 5))
    BusinessInterval.objects.create(
        org=tenant.org, department=department, weekday=0, start=dt.time(9), end=dt.time(17)
    )
    tenant.admin.org = tenant.org
    invitation = member_invite(
        actor=tenant.admin, email=f"new@{tenant.org.portal}.test", roles={"desk": "agent"}
    )
    other = tenant.member()
    from django.core.files.uploadedfile import SimpleUploadedFile

    from customers.models import Account, Contact, Product
    from helpdesk.tickets.models import CustomField, TicketStatus
    from helpdesk.tickets.services.threads import thread_add
    from helpdesk.tickets.services.tickets import TicketInput, ticket_create

    account = Account.objects.create(org=tenant.org, name=f"{tenant.org.name} customer")
    contact = Contact.objects.create(
        org=tenant.org,
        last_name="Customer",
        account=account,
        email=f"customer@{tenant.org.portal}.test",
    )
    product = Product.objects.create(org=tenant.org, name="Widget", department=department)
    for n in range(extra_tickets):
        ticket_create(
            actor=tenant.admin, data=TicketInput(subject=f"filler {n}", department=department)
        )
    ticket = ticket_create(
        actor=tenant.admin,
        data=TicketInput(
            subject=f"{tenant.org.name} secret ticket", department=department, contact=contact
        ),
    )
    thread = thread_add(
        actor=tenant.admin,
        ticket=ticket,
        kind="comment",
        body="note",
        files=[SimpleUploadedFile("a.txt", b"secret")],
    )
    field = CustomField.objects.create(
        org=tenant.org, department=department, label="F", key="f", type="text"
    )
    status = TicketStatus.objects.for_org(tenant.org).filter(department=department).last()
    # The ticket page's panels act on this ticket (TKT-01): it has a tag and a follower.
    from helpdesk.tickets.services.followers import ticket_follow
    from helpdesk.tickets.services.tags import ticket_tag_add

    ticket_tag_add(actor=tenant.admin, ticket=ticket, name=f"{tenant.org.portal}-tag")
    ticket_follow(actor=tenant.admin, ticket=ticket)
    from helpdesk.tickets.services.listviews import saved_view_create

    saved_view = saved_view_create(
        actor=tenant.admin, name="Saved", params={}, columns=[], department=department
    )
    # TKT-04: an approval asked of the tenant's admin by another member, and a share.
    from helpdesk.tickets.collab.models import Approval, ApprovalDecision, ShareLevel, TicketShare

    approval = Approval.objects.create(
        org=tenant.org, ticket=ticket, requested_by=other.user, note="approve?"
    )
    ApprovalDecision.objects.create(org=tenant.org, approval=approval, approver=tenant.admin.user)
    share = TicketShare.objects.create(
        org=tenant.org,
        ticket=ticket,
        department=DepartmentFactory(org=tenant.org),
        level=ShareLevel.READ_ONLY,
    )
    activity, time_entry = _activities(tenant, ticket)
    canned = CannedResponse.objects.create(
        org=tenant.org, title="Secret canned", body="x", department=department
    )
    from helpdesk.tickets.imap.models import Mailbox

    mailbox = Mailbox.objects.create(
        org=tenant.org,
        department=department,
        host="imap.example.com",
        username=f"support@{tenant.org.portal}.test",
        password_encrypted="x",
    )
    return {
        "mailbox_id": mailbox.pk,
        "canned_id": canned.pk,
        "number": ticket.number,
        "attachment_id": thread.attachments.get().pk,
        "status_id": status.pk,
        "field_id": field.pk,
        "contact_id": contact.pk,
        "account_id": account.pk,
        "product_id": product.pk,
        "member_id": other.pk,
        "dept_id": department.pk,
        "team_id": team.pk,
        "holiday_id": holiday.pk,
        "token": invitation_token(invitation),
        "saved_view_id": saved_view.pk,
        **_rules(tenant, department),
        "inbound_id": _held_message(tenant).pk,
        "activity_id": activity.pk,
        "time_entry_id": time_entry.pk,
        "approval_id": approval.pk,
        "share_id": share.pk,
        **_customer_records(tenant, contact),
        **_customer_attachments(tenant, contact),
        **_bpactions_objects(tenant, department, ticket),
        **_bpcore_objects(tenant, ticket),
        **_bpsettings_objects(tenant),
        **_sla_objects(tenant, department),
        **_crm_objects(tenant),
        **_import_objects(tenant),
        **_chat_objects(tenant),
        **_api_objects(tenant),
    }


def _rules(tenant, department) -> dict[str, int]:
    """An assignment and a workflow rule (TKT-09), for the Setup pages that edit them."""
    from helpdesk.tickets.rules.models import AssignmentRule, WorkflowRule

    criteria = {"field": "subject", "op": "contains", "value": "secret"}
    assignment = AssignmentRule.objects.create(
        org=tenant.org, name="Secret assignment", condition=criteria, to_department=department
    )
    workflow = WorkflowRule.objects.create(
        org=tenant.org,
        name="Secret workflow",
        condition=criteria,
        field_updates={"priority": "low"},
    )
    return {"assignment_rule_id": assignment.pk, "workflow_rule_id": workflow.pk}


def _rules_rows(org) -> tuple:
    from helpdesk.tickets.rules.models import (
        AgentAvailability,
        AssignmentRule,
        RoundRobin,
        WorkflowRule,
    )

    fields = ("pk", "name", "order", "is_enabled", "condition")
    return (
        list(AssignmentRule.objects.for_org(org).order_by("pk").values_list(*fields)),
        list(WorkflowRule.objects.for_org(org).order_by("pk").values_list(*fields)),
        list(RoundRobin.objects.for_org(org).order_by("pk").values_list("pk", "is_enabled")),
        list(AgentAvailability.objects.for_org(org).values_list("user_id", "is_away")),
    )


def _snapshot(org) -> tuple:
    return (
        list(
            Membership.objects.for_org(org)
            .order_by("pk")
            .values_list("pk", "status", "desk_role", "admin_level")
        ),
        list(
            Department.objects.for_org(org).order_by("pk").values_list("pk", "name", "is_enabled")
        ),
        list(Team.objects.for_org(org).order_by("pk").values_list("pk", "name")),
        list(Holiday.objects.for_org(org).order_by("pk").values_list("pk", "date")),
        list(CannedResponse.objects.for_org(org).order_by("pk").values_list("pk", "title", "body")),
        _mailbox_rows(org),
        _ticket_page_rows(org),
        _rules_rows(org),
        _helpcenter_rows(org),
        _mailin_rows(org),
        _activity_rows(org),
        _customer_record_rows(org),
        _customer_attachment_rows(org),
        _collab_rows(org),
        _bpactions_rows(org),
        _bpcore_rows(org),
        _bpsettings_rows(org),
        _sla_rows(org),
        _crm_rows(org),
        _import_rows(org),
        _chat_rows(org),
        _chat_visitor_rows(org),
        _api_rows(org),
        org.__class__.objects.filter(pk=org.pk).values_list("portal", "plan", "name").get(),
    )


def _mailbox_rows(org) -> list:
    """IMAP mailboxes (TKT-07): settings, polling state and last error."""
    from helpdesk.tickets.imap.models import Mailbox

    return list(
        Mailbox.objects.for_org(org)
        .order_by("pk")
        .values_list("pk", "host", "enabled", "password_encrypted", "last_error", "failures")
    )


def _held_message(tenant):
    """A held incoming message (TKT-07), for the Setup pages that view, retry and delete it."""
    from helpdesk.tickets.mailin.models import InboundMessage

    return InboundMessage.objects.create(
        org=tenant.org,
        key=f"<held@{tenant.org.portal}.test>",
        outcome="held",
        reason="no sender address",
        subject=f"{tenant.org.name} held mail",
        raw=f"Subject: {tenant.org.name} held mail\r\n\r\nsecret".encode(),
    )


def _mailin_rows(org) -> tuple:
    """Incoming mail's log, held messages and the inbound secret (TKT-07)."""
    from helpdesk.tickets.mailin.models import InboundMessage, MailSettings

    return (
        list(
            InboundMessage.objects.for_org(org)
            .order_by("pk")
            .values_list("pk", "outcome", "reason", "ticket_id")
        ),
        list(MailSettings.objects.for_org(org).values_list("secret", "default_department_id")),
    )


def _helpcenter_rows(org) -> tuple:
    """The help center's settings and the tickets' ratings (TKT-08, TKT-04)."""
    from helpdesk.tickets.helpcenter.models import HelpCenterSettings, Rating

    return (
        list(HelpCenterSettings.objects.for_org(org).values_list("enabled", "department_ids")),
        list(Rating.objects.for_org(org).order_by("pk").values_list("ticket_id", "value")),
    )


def _ticket_page_rows(org) -> tuple:
    """Tags, followers, merges and statuses: what the ticket page's panels change (TKT-01)."""
    from helpdesk.tickets.models import Ticket, TicketFollower, TicketMerge, TicketTag

    return (
        list(TicketTag.objects.for_org(org).order_by("pk").values_list("ticket_id", "tag_id")),
        list(
            TicketFollower.objects.for_org(org).order_by("pk").values_list("ticket_id", "user_id")
        ),
        list(TicketMerge.objects.for_org(org).values_list("source_id", "target_id")),
        list(Ticket.objects.for_org(org).order_by("pk").values_list("pk", "status_id")),
    )


def _collab_rows(org) -> tuple:
    """Approvals, decisions, solutions and shares (TKT-04)."""
    from helpdesk.tickets.collab.models import Approval, ApprovalDecision, Solution, TicketShare

    return (
        list(Approval.objects.for_org(org).order_by("pk").values_list("pk", "status", "note")),
        list(
            ApprovalDecision.objects.for_org(org)
            .order_by("pk")
            .values_list("pk", "decision", "comment")
        ),
        list(Solution.objects.for_org(org).order_by("pk").values_list("pk", "body")),
        list(TicketShare.objects.for_org(org).order_by("pk").values_list("pk", "level")),
    )


def _activities(tenant, ticket) -> tuple:
    """A task and a time entry on the ticket, and a running timer (TKT-04)."""
    from django.utils import timezone

    from helpdesk.tickets.activities.services import (
        ActivityInput,
        TimeInput,
        activity_create,
        time_entry_create,
        timer_start,
    )

    activity = activity_create(
        actor=tenant.admin,
        data=ActivityInput(kind="task", subject="Secret task", owner=tenant.admin.user),
        ticket=ticket,
    )
    entry = time_entry_create(
        actor=tenant.admin,
        ticket=ticket,
        data=TimeInput(minutes=30, work_date=timezone.localdate()),
    )
    timer_start(actor=tenant.admin, ticket=ticket)
    return activity, entry


def _customer_attachments(tenant, contact) -> dict[str, int]:
    """A note with a file on the contact (CUS-11), for the download and delete URLs."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from customers.attachments.services import attachment_add

    added = attachment_add(
        actor=tenant.admin,
        contact=contact,
        text=f"{tenant.org.name} secret note",
        files=[SimpleUploadedFile("secret.txt", b"secret")],
    )
    return {"note_id": added.note.pk, "file_id": added.files[0].pk}


def _customer_attachment_rows(org) -> tuple:
    """Notes and files on contacts and accounts (CUS-11)."""
    from customers.attachments.models import CustomerFile, CustomerNote

    return (
        list(CustomerNote.objects.for_org(org).order_by("pk").values_list("pk", "text")),
        list(CustomerFile.objects.for_org(org).order_by("pk").values_list("pk", "name", "file")),
    )


def _customer_records(tenant, contact) -> dict[str, int]:
    """A contact field and a history entry of the contact (CUS-01, CUS-04), for the fields
    setup and the history detail URLs; the contact is tagged."""
    from customers import services
    from customers.models import CustomerField

    field = CustomerField.objects.create(
        org=tenant.org, module="contact", label="Secret field", key="secret", type="text"
    )
    services.contact_set_tags(actor=tenant.admin, contact=contact, names=f"{tenant.org.portal}-vip")
    entry = services.history_add(
        tenant.admin, "contact", contact, "updated", {"title": ["", "secret"]}, "192.0.2.1"
    )
    return {"customer_field_id": field.pk, "entry_id": entry.pk}


def _customer_record_rows(org) -> tuple:
    """Custom fields, tags and history of contacts and accounts (CUS-01, CUS-04)."""
    from customers.models import AccountTag, ContactTag, CustomerField, CustomerHistory

    return (
        list(CustomerField.objects.for_org(org).order_by("pk").values_list()),
        sorted(ContactTag.objects.for_org(org).values_list("contact_id", "tag_id")),
        sorted(AccountTag.objects.for_org(org).values_list("account_id", "tag_id")),
        CustomerHistory.objects.for_org(org).count(),
    )


def _activity_rows(org) -> tuple:
    """Activities, time entries and timers: what the activities pages change (TKT-04)."""
    from helpdesk.tickets.activities.models import Activity, RunningTimer, TimeEntry

    return (
        list(
            Activity.objects.for_org(org)
            .order_by("pk")
            .values_list("pk", "subject", "status", "done", "spam")
        ),
        list(
            TimeEntry.objects.for_org(org)
            .order_by("pk")
            .values_list("pk", "minutes", "billable", "billed")
        ),
        list(
            RunningTimer.objects.for_org(org)
            .order_by("pk")
            .values_list("pk", "started_at", "elapsed_seconds")
        ),
    )


def _bpcore_objects(tenant, ticket) -> dict[str, int]:
    """A blueprint with two states and a transition, the ticket in it (BP-25's ticket pages)."""
    from blueprints.models import Blueprint, State, TicketBlueprint, Transition, TransitionSource

    org = tenant.org
    blueprint = Blueprint.objects.create(
        org=org, name="Secret process", department=ticket.department, status="active"
    )
    here = State.objects.create(org=org, blueprint=blueprint, status=ticket.status)
    other = ticket.department.statuses.exclude(pk=ticket.status_id).first()
    there = State.objects.create(org=org, blueprint=blueprint, status=other)
    transition = Transition.objects.create(
        org=org, blueprint=blueprint, name="Secret step", to_state=there
    )
    TransitionSource.objects.create(org=org, transition=transition, state=here)
    now = ticket.created_at
    TicketBlueprint.objects.get_or_create(
        org=org,
        ticket=ticket,
        defaults={"blueprint": blueprint, "state": here, "entered_at": now, "started_at": now},
    )
    return {"transition_id": transition.pk, "blueprint_id": blueprint.pk, "state_id": here.pk}


def _bpcore_rows(org) -> tuple:
    """Tickets' blueprint instances, windows, overrides and logs (BP-25's ticket pages)."""
    from blueprints.models import OwnerOverride, TicketBlueprint, TransitionLog, TransitionWindow

    return (
        list(TicketBlueprint.objects.for_org(org).order_by("pk").values_list("pk", "state_id")),
        list(TransitionWindow.objects.for_org(org).order_by("pk").values_list("pk", "done")),
        list(OwnerOverride.objects.for_org(org).order_by("pk").values_list("pk", "user_id")),
        list(TransitionLog.objects.for_org(org).order_by("pk").values_list("pk", "kind")),
    )


def _bpactions_objects(tenant, department, ticket) -> dict[str, object]:
    """A mail template (BP-11, BP-15), an after-action that sends it and a failed run of it on
    the ticket (BP-11)."""
    from django.utils import timezone

    from blueprints.models import AfterAction, AfterActionRun, TransitionLog
    from helpdesk.tickets.mailtemplates.models import MailTemplate

    template = MailTemplate.objects.create(
        org=tenant.org, name="Secret template", subject="s {{ticket.number}}", body="b"
    )
    action = AfterAction.objects.create(
        org=tenant.org,
        department=department,
        name="Secret action",
        type="email",
        config={"template_id": template.pk, "ticket_owner": True},
    )
    entry = TransitionLog.objects.create(
        org=tenant.org, ticket=ticket, kind="transition", name="Approve", at=timezone.now()
    )
    run = AfterActionRun.objects.create(
        org=tenant.org,
        log=entry,
        action=action,
        ticket=ticket,
        name=action.name,
        type=action.type,
        status="failed",
        error="secret failure",
    )
    return {
        "mail_template_id": template.pk,
        "after_action_id": action.pk,
        "after_action_run_id": run.pk,
    }


def _bpactions_rows(org) -> tuple:
    """Mail templates, after-actions and their runs (BP-11)."""
    from blueprints.models import AfterAction, AfterActionRun
    from helpdesk.tickets.mailtemplates.models import MailTemplate

    return (
        list(MailTemplate.objects.for_org(org).order_by("pk").values_list("pk", "name", "body")),
        list(AfterAction.objects.for_org(org).order_by("pk").values_list("pk", "name", "config")),
        list(AfterActionRun.objects.for_org(org).order_by("pk").values_list("pk", "status")),
    )


def _bpsettings_objects(tenant) -> dict[str, int]:
    """A remove-from-all-tickets job of the blueprint `_bpcore_objects` made (Setup →
    Blueprints, BP-18); its blueprint, state and transition serve the Setup pages too."""
    from blueprints.models import Blueprint, BlueprintVersion
    from blueprints.removal.models import RemovalJob

    blueprint = Blueprint.objects.for_org(tenant.org).get(name="Secret process")
    job = RemovalJob.objects.create(org=tenant.org, blueprint=blueprint, status="done")
    # A kept version (the versions and compare pages, issue 12 item 4).
    BlueprintVersion.objects.create(
        org=tenant.org, blueprint=blueprint, number=1, snapshot={"name": blueprint.name}
    )
    return {"removal_id": job.pk}


def _bpsettings_rows(org) -> tuple:
    """Blueprints, their states and transitions, removal jobs and versions (BP-01..BP-21)."""
    from blueprints.models import Blueprint, BlueprintVersion, State, Transition
    from blueprints.removal.models import RemovalJob

    return (
        list(
            Blueprint.objects.for_org(org)
            .order_by("pk")
            .values_list("pk", "name", "status", "position", "criteria")
        ),
        list(State.objects.for_org(org).order_by("pk").values_list("pk", "status_id")),
        list(Transition.objects.for_org(org).order_by("pk").values_list("pk", "name", "message")),
        list(RemovalJob.objects.for_org(org).order_by("pk").values_list("pk", "status", "done")),
        list(BlueprintVersion.objects.for_org(org).order_by("pk").values_list("pk", "number")),
    )


def _sla_objects(tenant, department) -> dict[str, int]:
    """An SLA policy with a level, and a state SLA on the state of `_bpcore_objects` (TKT-09,
    BP-15): Setup's SLA pages edit them; the ticket's SLA panel reads its clocks."""
    from blueprints.models import State
    from helpdesk.tickets.mailtemplates.models import MailTemplate
    from sla.models import EscalationLevel, SlaPolicy, StateSla

    template = MailTemplate.objects.for_org(tenant.org).get(name="Secret template")
    policy = SlaPolicy.objects.create(
        org=tenant.org, department=department, priority="urgent", resolution_minutes=90
    )
    EscalationLevel.objects.create(
        org=tenant.org, policy=policy, target="resolution", level=1, template=template
    )
    state = State.objects.for_org(tenant.org).get(pk=_state_id(tenant))
    StateSla.objects.create(org=tenant.org, state=state, minutes=60)
    return {"policy_id": policy.pk}


def _state_id(tenant) -> int:
    """The state the tenant's ticket is in (made by `_bpcore_objects`)."""
    from blueprints.models import TicketBlueprint

    return (
        TicketBlueprint.objects.for_org(tenant.org).get(blueprint__name="Secret process").state_id
    )


def _sla_rows(org) -> tuple:
    """SLA policies, state SLAs and their levels (TKT-09, BP-15)."""
    from sla.models import EscalationLevel, SlaPolicy, StateSla

    return (
        list(
            SlaPolicy.objects.for_org(org)
            .order_by("pk")
            .values_list("pk", "priority", "resolution_minutes", "is_active")
        ),
        list(StateSla.objects.for_org(org).order_by("pk").values_list("pk", "minutes")),
        list(
            EscalationLevel.objects.for_org(org)
            .order_by("pk")
            .values_list("pk", "level", "when", "offset_minutes", "template_id")
        ),
    )


def _import_objects(tenant) -> dict[str, int]:
    """A previewed import of contacts (CUS-01), for the job and confirm URLs."""
    from customers.imports.models import ImportJob

    job = ImportJob.objects.create(
        org=tenant.org,
        kind="contacts",
        file_name="secret.csv",
        encoding="utf-8",
        requested_by=tenant.admin.user,
        total=1,
    )
    return {"import_job_id": job.pk}


def _import_rows(org) -> tuple:
    """Import jobs and the contacts an import would write (CUS-01)."""
    from customers.imports.models import ImportJob
    from customers.models import Contact

    return (
        list(ImportJob.objects.for_org(org).order_by("pk").values_list("pk", "status", "done")),
        Contact.objects.for_org(org).count(),
    )


def _crm_objects(tenant) -> dict[str, int]:
    """A CRM account, contact, deal and product (CRM-01), an integration key issued by the
    tenant's desk and the CRM linked to its own desk (CRM-02)."""
    from crmsync.models import CrmAccount, CrmContact, CrmProduct, Deal, DealContact, SyncRun
    from crmsync.services.integration import integration_connect_own, key_issue

    org = tenant.org
    account = CrmAccount.objects.create(org=org, name=f"{org.name} secret prospect")
    contact = CrmContact.objects.create(
        org=org, last_name="Secret", email=f"lead@{org.portal}.test", account=account
    )
    deal = Deal.objects.create(org=org, name=f"{org.name} secret deal", account=account)
    DealContact.objects.create(org=org, deal=deal, contact=contact)
    product = CrmProduct.objects.create(org=org, name="Secret plan", code=f"{org.portal}-1")
    key, _secret = key_issue(actor=tenant.admin, label=f"{org.name} key")
    integration = integration_connect_own(actor=tenant.admin)
    run = SyncRun.objects.create(org=org, integration=integration, kind="dry_run")
    # CRM-10/11: the CRM contact is linked to the desk contact of the tenant's ticket, so the
    # CRM opens that ticket (crm:ticket and its actions) and the walker tries them for real.
    from crmsync.models import SyncLink
    from customers.models import Contact as DeskContact

    SyncLink.objects.create(
        org=org,
        integration=integration,
        kind="contact",
        crm_id=contact.pk,
        desk_id=DeskContact.objects.for_org(org).get(email=f"customer@{org.portal}.test").pk,
        synced={},
    )
    from crmsync.models import SalesSignal  # CRM-14: a sales signal of the admin's

    signal = SalesSignal.objects.create(
        org=org,
        integration=integration,
        user=tenant.admin.user,
        event="new_ticket",
        ticket_id=1,
        ticket_number=1,
        subject=f"{org.name} secret signal",
        record_kind="contact",
        record_id=contact.pk,
    )
    return {
        "signal_id": signal.pk,
        "sync_run_id": run.pk,
        "crm_account_id": account.pk,
        "crm_contact_id": contact.pk,
        "deal_id": deal.pk,
        "crm_product_id": product.pk,
        "key_id": key.pk,
    }


def _crm_rows(org) -> tuple:
    """CRM records, keys and the integration (CRM-01, CRM-02)."""
    from crmsync.models import (
        CrmAccount,
        CrmContact,
        CrmProduct,
        Deal,
        DealContact,
        DealTicket,
        Integration,
        IntegrationKey,
        OutboxEntry,
        SyncRun,
    )

    return (
        list(CrmAccount.objects.for_org(org).order_by("pk").values_list("pk", "name", "owner")),
        list(CrmContact.objects.for_org(org).order_by("pk").values_list("pk", "email", "owner")),
        list(Deal.objects.for_org(org).order_by("pk").values_list("pk", "name", "stage")),
        list(DealContact.objects.for_org(org).order_by("pk").values_list("deal", "contact")),
        list(CrmProduct.objects.for_org(org).order_by("pk").values_list("pk", "name", "code")),
        list(IntegrationKey.objects.for_org(org).order_by("pk").values_list("pk", "revoked_at")),
        list(Integration.objects.for_org(org).values_list("pk", "state", "desk_org")),
        list(SyncRun.objects.for_org(org).order_by("pk").values_list("pk", "state")),
        OutboxEntry.objects.for_org(org).count(),
        _signal_rows(org),
        list(DealTicket.objects.for_org(org).order_by("pk").values_list("deal", "ticket_id")),
    )


def _signal_rows(org) -> list:
    """Sales signals and their preferences (CRM-14)."""
    from crmsync.models import SalesSignal, SignalPreference

    return [
        list(SalesSignal.objects.for_org(org).order_by("pk").values_list("pk", "read_at")),
        list(SignalPreference.objects.for_org(org).values_list("user", "events", "mail")),
    ]


def _chat_objects(tenant) -> dict[str, int]:
    """A second chat department (CHAT-01; sign-up made the first) with an operator and a past
    chat: nothing would stop a request that reached it from changing or deleting it."""
    from chat.models import Conversation
    from chat.services.departments import department_create

    tenant.admin.org = tenant.org
    department = department_create(
        actor=tenant.admin, name=f"{tenant.org.name} secret chat", operators=[tenant.admin.user]
    )
    Conversation.objects.create(org=tenant.org, department=department, state="ended")
    # The admin is available (issue 15): the widget's chat below is routed to them.
    from chat.models import OperatorStatus

    OperatorStatus.objects.create(org=tenant.org, user=tenant.admin.user, presence="available")
    # A visitor's chat through the widget (CHAT-07): its id and the department's embed key.
    from chat.services.conversations import conversation_start

    started = conversation_start(
        entry=department,
        department_id=None,
        name="Visitor",
        email="",
        message=f"{tenant.org.name} secret chat message",
        ip=None,
        language="en",
    )
    return {
        "chat_department_id": department.pk,
        "embed_key": department.embed_key,
        "chat_conversation_id": started.conversation.pk,
        **_chat_visitor_objects(tenant, department, started.conversation),
    }


def _chat_visitor_objects(tenant, department, conversation) -> dict[str, int]:
    """A chat's file, a blocked address and a tracked visitor (CHAT-07, CHAT-08)."""
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from chat.models import BlockedIP, ChatAttachment, ChatFeedback, PageView, Visitor

    attachment = ChatAttachment(
        org=tenant.org,
        conversation=conversation,
        name="secret.txt",
        size=6,
        content_type="text/plain",
        sender="visitor",
    )
    attachment.file.save("secret.txt", ContentFile(b"secret"), save=False)
    attachment.save()
    block = BlockedIP.objects.create(org=tenant.org, ip="203.0.113.66", conversation=conversation)
    now = timezone.now()
    visitor = Visitor.objects.create(
        org=tenant.org,
        key=f"walker-{tenant.org.portal}-visitor-key",
        department=department,
        first_seen_at=now,
        last_seen_at=now,
        visit_started_at=now,
        page_views=1,
        current_url="https://shop.example/",
        current_title=f"{tenant.org.name} secret page",
    )
    PageView.objects.create(
        org=tenant.org, visitor=visitor, url="https://shop.example/", created_at=now
    )
    ended = conversation.__class__.objects.create(
        org=tenant.org, department=department, state="ended", visitor=visitor
    )
    ChatFeedback.objects.create(org=tenant.org, conversation=ended, rating=5, comment="secret")
    return {
        "chat_attachment_id": attachment.pk,
        "chat_blocked_ip_id": block.pk,
        "chat_visitor_id": visitor.pk,
    }


def _chat_visitor_rows(org) -> tuple:
    """Files, feedback, blocked addresses, visitors and their pages (CHAT-07, CHAT-08)."""
    from chat.models import BlockedIP, ChatAttachment, ChatFeedback, PageView, Visitor

    return (
        list(ChatAttachment.objects.for_org(org).order_by("pk").values_list("pk", "file")),
        list(ChatFeedback.objects.for_org(org).order_by("pk").values_list("pk", "rating")),
        list(BlockedIP.objects.for_org(org).order_by("pk").values_list("pk", "ip")),
        list(
            Visitor.objects.for_org(org)
            .order_by("pk")
            .values_list("pk", "page_views", "last_seen_at", "invite_token")
        ),
        PageView.objects.for_org(org).count(),
    )


def _chat_rows(org) -> tuple:
    """Chat departments, operators, email settings and conversations (CHAT-01, CHAT-03..06)."""
    from chat.models import ChatDepartment, ChatOperator, Conversation, EmailSetting, OperatorStatus

    return (
        list(
            ChatDepartment.objects.for_org(org)
            .order_by("pk")
            .values_list("pk", "name", "description", "visibility", "is_enabled", "embed_key")
        ),
        list(ChatOperator.objects.for_org(org).order_by("pk").values_list("department", "user")),
        list(
            EmailSetting.objects.for_org(org)
            .order_by("pk")
            .values_list("pk", "is_enabled", "addresses")
        ),
        list(
            Conversation.objects.for_org(org)
            .order_by("pk")
            .values_list("pk", "department", "state", "accepted_by", "assigned_to", "ticket")
        ),
        # Presence and limits (issue 15, item 3): an outsider's POST changes neither.
        list(
            OperatorStatus.objects.for_org(org)
            .order_by("pk")
            .values_list("user", "presence", "max_chats")
        ),
    )


def _api_objects(tenant) -> dict[str, object]:
    """A personal API token of the tenant's admin (issue 16): its id for the profile's revoke
    URL, and the token itself, which the walker sends to the API's routes (they authenticate
    by token, not by session)."""
    import datetime as dt

    from django.utils import timezone

    from api.services import token_create

    tenant.admin.org = tenant.org
    issued = token_create(
        actor=tenant.admin,
        name="walker",
        scopes=["read", "write"],
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    from api.models import WebhookSubscription

    webhook = WebhookSubscription.objects.create(
        org=tenant.org,
        name=f"{tenant.org.name} secret webhook",
        url="http://127.0.0.1:9/hook",
        events=["ticket.created"],
        secret_encrypted="x",
    )
    return {"api_token_id": issued.token.pk, "api_bearer": issued.raw, "webhook_id": webhook.pk}


def _api_rows(org) -> tuple:
    from api.models import ApiToken, WebhookDelivery, WebhookSubscription

    return (
        list(ApiToken.objects.for_org(org).order_by("pk").values_list("pk", "name", "revoked_at")),
        list(
            WebhookSubscription.objects.for_org(org)
            .order_by("pk")
            .values_list("pk", "name", "url", "events", "secret_encrypted", "is_active")
        ),
        list(WebhookDelivery.objects.for_org(org).values_list("pk")),
    )


# The API's routes (issue 16) are walked with Acme's token in `Authorization: Bearer`, and with
# the methods they take besides GET and POST. A body the route cannot read is refused (400,
# 422) the same way whoever's object the URL names, so those answers are allowed too.
API_ROUTE = "<slug:portal>/api/v1/"
API_PAGES = {"api:docs", "api:openapi"}  # pages for signed-in members, not operations


def _is_api(route: str, name: str) -> bool:
    return route.startswith(API_ROUTE) and name not in API_PAGES


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.django_db
def test_org01_every_url_refuses_other_organizations(client, acme, globex):
    mine = _objects(acme)
    theirs = _objects(globex, extra_tickets=3)
    # Globex gets a second department so deleting one would be possible there.
    DepartmentFactory(org=globex.org)
    login(client, acme.admin)
    before = _snapshot(globex.org)
    checked = 0

    for route, name, _pattern in _walk(get_resolver()):
        if not route.startswith("<slug:portal>/"):
            assert name in GLOBAL_URLS, (
                f"URL {route!r} ({name}) is outside /<portal>/ and not listed in GLOBAL_URLS"
            )
            continue
        object_keys = [k for k in _route_keys(route) if k != "portal"]
        unknown = set(object_keys) - set(theirs)
        assert not unknown, f"walker does not know {unknown} of {route!r} ({name})"
        if is_stream_path(route) and name.startswith("chat:"):
            # An async view: the sync client cannot drive it beside a browser test's event
            # loop; tests/chat/test_realtime.py checks chat streams' 404s on a loop of its own.
            continue

        # 1. Globex's portal with Globex's objects: Alice is not a member -> 404.
        url = _fill(route, {"portal": globex.org.portal, **{k: theirs[k] for k in object_keys}})
        api = _is_api(route, name)
        bearer = {"HTTP_AUTHORIZATION": f"Bearer {mine['api_bearer']}"} if api else {}
        methods = ("get", "post", "patch", "delete") if api else ("get", "post")
        for method in methods:
            response = getattr(client, method)(url, **bearer)
            if name in PUBLIC_TENANT_URLS:
                # The token is the credential; only its holder sees the page.
                public_ok = (200, 404, 410)
                if name in CHAT_WIDGET_URLS:
                    public_ok = (200, 400, 404, 405, 410)
                assert response.status_code in public_ok, (method, url, response.status_code)
                continue
            assert response.status_code == 404, (method, url, response.status_code)
            checked += 1

        # 2. Acme's portal with one Globex object at a time.
        for key in object_keys:
            values = {k: mine[k] for k in object_keys}
            values[key] = theirs[key]
            url = _fill(route, {"portal": acme.org.portal, **values})
            for method in methods:
                response = getattr(client, method)(url, **bearer)
                allowed = (403, 404, 405) if method == "get" else (403, 404)
                if api:
                    allowed = (400, 403, 404, 405, 422)
                assert response.status_code in allowed, (method, url, response.status_code)
                assert globex.org.name.encode() not in response.content
                checked += 1

    assert _snapshot(globex.org) == before, "a request as Acme changed Globex's data"
    assert checked > 40


def _route_keys(route: str) -> list[str]:
    import re

    return re.findall(r"<(?:\w+:)?(\w+)>", route)


def test_org01_walker_fails_on_an_unknown_url_argument():
    """The walker refuses a route it cannot fill, so new URLs must be taught to it."""
    with pytest.raises(AssertionError, match="OBJECT_KWARGS"):
        _fill("<slug:portal>/tickets/<int:ticket_id>/", {"portal": "acme"})


GARBAGE = {
    "email": "not an email",
    "portal": "!!",
    "plan": "gold",
    "name": "",
    "member": "abc",
    "desk_role": "god",
    "admin_level": "root",
    "department": "x",
    "status": "nope",
    "priority": "ultra",
    "owner": "-1",
    "due_at": "yesterday",
    "kind": "shout",
    "body": "",
    "to": "a,,b",
    "tickets": ["x", "-5"],
    "action": "explode",
    "order": ["a"],
    "date": "32/13",
    "year": "99999",
    "country": "XX",
    "label": "",
    "type": "blob",
    "time_zone": "Mars/Base",
    "agents": ["999999"],
    "members": ["abc"],
    "intervals-TOTAL_FORMS": "x",
    "token": "\x00",
    "q": "\x00' OR 1=1 --",
    "page": "-1",
    "size": "7",
    "subject": "x" * 300,
}


@pytest.mark.django_db
def test_every_url_answers_bad_input_without_a_server_error(client, acme):
    """Every page and form, sent nonsense by an account admin, answers 4xx or a page with
    the errors, never a 500."""
    mine = _objects(acme)
    login(client, acme.admin)
    client.raise_request_exception = True  # a crash fails here with its traceback
    for route, name, _pattern in _walk(get_resolver()):
        if name in ("logout",):
            continue
        extra = {"uidb64": "MQ", "token": "set-password"}  # a reset link's arguments
        keys = {k: mine.get(k, extra.get(k)) for k in _route_keys(route) if k != "portal"}
        url = _fill(route, {"portal": acme.org.portal, **keys})
        if is_stream_path(url):
            # An event stream is an async view for the ASGI handler, which the sync test
            # client cannot drive in a thread where a browser test's event loop runs;
            # tests/test_asgi_streams.py serves it through uvicorn.
            continue
        for method in ("get", "post"):
            response = getattr(client, method)(
                url, GARBAGE if method == "post" else {"q": GARBAGE["q"], "page": "x"}
            )
            assert response.status_code < 500, (method, url, response.status_code)
        login(client, acme.admin)  # a page may have switched the session (invitation)
