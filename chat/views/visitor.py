"""The widget's endpoints (CHAT-02, CHAT-07): public portal URLs that any website may call.

They are the only chat URLs open to other origins (`Access-Control-Allow-Origin: *`, never
with credentials: no cookie of ours is read or set). The conversation's secret token is the
visitor's credential, sent as `Authorization: Bearer <token>` or a `token` field (EventSource
cannot send headers, so the stream takes it in the query); a wrong or missing token reads as
a missing conversation (404). Answers are JSON: 400 with field errors, 404, 429 with
`Retry-After`; never a page.

The widget posts form-encoded bodies with the token as a field, which browsers send without a
preflight; JSON bodies and the header work too (with a preflight, answered here).
"""

from __future__ import annotations

import json
from functools import wraps

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.csrf import csrf_exempt

from helpdesk.http import client_ip, stored_file_response
from helpdesk.streams import event_stream
from helpdesk.tenancy.middleware import tenant_public

from .. import realtime
from ..models import Conversation, Sender
from ..ratelimit import rate_limit_hit
from ..services import blocking, feedback, files, missed, routing, tracking, transcripts
from ..services import conversations as svc
from ..services.transfer import visitor_department_label

WIDGET_SCRIPT = "chat/widget.js"
_LANGUAGES = {code for code, _name in settings.LANGUAGES}


# --- Plumbing ----------------------------------------------------------------------------------
def _cors(response: HttpResponse) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Last-Event-ID"
    response["Access-Control-Max-Age"] = "600"
    return response


class BadRequest(Exception):
    pass


def _data(request: HttpRequest) -> dict:
    """The posted fields: a JSON object, or form fields."""
    if request.method != "POST":
        return {}
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError as exc:
            raise BadRequest from exc
        if not isinstance(data, dict):
            raise BadRequest
        return data
    return request.POST.dict()


def _token(request: HttpRequest, data: dict) -> str:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip()
    return str(data.get("token") or request.GET.get("token") or "")


def _language(request: HttpRequest) -> str:
    lang = request.GET.get("lang") or (request.POST.get("lang") if request.method == "POST" else "")
    return lang if lang in _LANGUAGES else translation.get_language() or "en"


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


def _throttled(action: str, request: HttpRequest) -> HttpResponse | None:
    wait = rate_limit_hit(action, client_ip(request))
    if wait is None:
        return None
    response = JsonResponse({"error": _("Too many requests. Try again in a minute.")}, status=429)
    response["Retry-After"] = str(wait)
    return response


def widget_endpoint(view):
    """A public, cross-origin JSON endpoint of the portal (see the module's docstring)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "OPTIONS":
            return _cors(HttpResponse(status=204))
        with translation.override(_language(request)):
            try:
                response = view(request, *args, **kwargs)
            except Http404:
                response = JsonResponse({"error": "not found"}, status=404)
            except BadRequest:
                response = JsonResponse({"error": _("The request could not be read.")}, status=400)
            except ValidationError as exc:
                response = JsonResponse({"errors": _errors(exc)}, status=400)
        return _cors(response)

    return tenant_public(csrf_exempt(wrapper))


def _method(request: HttpRequest, *allowed: str) -> HttpResponse | None:
    if request.method in allowed:
        return None
    response = JsonResponse({"error": "method not allowed"}, status=405)
    response["Allow"] = ", ".join((*allowed, "OPTIONS"))
    return response


def _conversation(request: HttpRequest, chat_conversation_id: int, data: dict) -> Conversation:
    return svc.conversation_for_visitor(
        org=request.portal_org, conversation_id=chat_conversation_id, token=_token(request, data)
    )


def _after(request: HttpRequest) -> int:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after") or "0"
    try:
        after = int(raw)
    except ValueError as exc:
        raise BadRequest from exc
    if after < 0 or after > 2**31:
        raise BadRequest
    return after


# --- The widget --------------------------------------------------------------------------------
_script_cache: dict[str, bytes] = {}


def _script() -> bytes:
    if settings.DEBUG or WIDGET_SCRIPT not in _script_cache:
        path = finders.find(WIDGET_SCRIPT)
        with open(path, "rb") as f:
            _script_cache[WIDGET_SCRIPT] = f.read()
    return _script_cache[WIDGET_SCRIPT]


@widget_endpoint
def widget_script(request: HttpRequest, embed_key: str) -> HttpResponse:
    """The embed code's script: one file for every department; it reads the department's key
    and our address from its own `src`."""
    svc.department_for_embed(request.portal_org, embed_key)
    if denied := _method(request, "GET"):
        return denied
    response = HttpResponse(_script(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    return response


def _strings() -> dict[str, str]:
    return {
        "open": pgettext("chat widget button", "Chat"),
        "title": _("Chat with us"),
        "close": _("Close"),
        "name": _("Name"),
        "email": _("Email address"),
        "optional": _("(optional)"),
        "department": _("Department"),
        "message": _("Message"),
        "start": _("Start chat"),
        "send": _("Send"),
        "waiting": _("Waiting for an operator…"),
        "typing": _("An operator is typing…"),
        "end": _("End chat"),
        "ended": _("This chat has ended."),
        "again": _("New chat"),
        "error": _("Something went wrong. Try again."),
        "you": _("You"),
        "leave": _("Leave a message"),
        "leaveNote": _("Nobody could answer. Leave a message and we will reply by email."),
        "leaveSend": _("Send message"),
        "leaveSent": _("Thank you. Your message was sent; we will reply by email."),
        "attach": _("Attach a file"),
        "file": _("File"),
        "rate": _("How was this chat?"),
        "rating": _("Rating"),
        "stars": _("%(n)s of 5"),
        "comment": _("Comment"),
        "sendRating": _("Send rating"),
        "thanks": _("Thank you for your feedback!"),
        "transcript": _("Email me the transcript"),
        "transcriptSent": _("The transcript will be sent to your email address."),
    }


@widget_endpoint
def widget_config(request: HttpRequest, embed_key: str) -> HttpResponse:
    """What the widget shows before a chat: its department, the public departments to pick
    from (never a private one), which details are required, and its words in ja and en."""
    department = svc.department_for_embed(request.portal_org, embed_key)
    if denied := _method(request, "GET"):
        return denied
    strings = {}
    for code in ("ja", "en"):
        with translation.override(code):
            strings[code] = _strings()
    return JsonResponse(
        {
            "department": {"id": department.pk, "name": department.name},
            "departments": [
                {"id": d.pk, "name": d.name} for d in svc.public_departments(request.portal_org)
            ],
            "name_required": department.name_required,
            "email_required": department.email_required,
            "strings": strings,
        }
    )


@widget_endpoint
def widget_start(request: HttpRequest, embed_key: str) -> HttpResponse:
    """Start a chat: `name`, `email`, `department` (an id from the config), `message`.
    Answers 201 with the conversation's id and its token (given only here)."""
    entry = svc.department_for_embed(request.portal_org, embed_key)
    if denied := _method(request, "POST"):
        return denied
    data = _data(request)
    if throttled := _throttled("start", request):
        return throttled
    if blocking.is_blocked(request.portal_org, client_ip(request)):
        return JsonResponse({"error": blocking.blocked_message()}, status=403)
    raw_department = str(data.get("department") or "").strip()
    department_id = None
    if raw_department:
        if not raw_department.isdigit() or len(raw_department) > 18:
            raise ValidationError({"department": [_("Choose one of the departments offered.")]})
        department_id = int(raw_department)
    started = svc.conversation_start(
        entry=entry,
        department_id=department_id,
        name=str(data.get("name") or ""),
        email=str(data.get("email") or ""),
        message=str(data.get("message") or ""),
        ip=client_ip(request),
        language=_language(request),
    )
    conversation = started.conversation
    tracking.conversation_link(conversation, str(data.get("visitor") or ""))
    routing.prefer_previous(conversation)  # a returning visitor known by the widget's key
    return JsonResponse(
        {
            "id": conversation.pk,
            "token": started.token,
            "state": conversation.state,
            "messages": realtime.messages_after(conversation, 0),
        },
        status=201,
    )


@widget_endpoint
def visitor_messages(request: HttpRequest, chat_conversation_id: int) -> HttpResponse:
    """GET: the messages after `?after=<seq>` (the polling fallback) and the chat's state.
    POST: the visitor's message (`body`)."""
    data = _data(request)
    conversation = _conversation(request, chat_conversation_id, data)
    if denied := _method(request, "GET", "POST"):
        return denied
    if request.method == "GET":
        return JsonResponse(
            {
                "state": conversation.state,
                # A private department's name never reaches the visitor (issue 15, item 3).
                "department": visitor_department_label(conversation.department),
                "messages": realtime.messages_after(conversation, _after(request)),
            }
        )
    if throttled := _throttled("message", request):
        return throttled
    message = svc.message_post_visitor(conversation=conversation, body=str(data.get("body") or ""))
    return JsonResponse(
        {"seq": message.seq, "message": realtime.message_event(message)}, status=201
    )


@widget_endpoint
def visitor_typing(request: HttpRequest, chat_conversation_id: int) -> HttpResponse:
    """The visitor is typing: the operators see it (published, not stored)."""
    conversation = _conversation(request, chat_conversation_id, _data(request))
    if denied := _method(request, "POST"):
        return denied
    if throttled := _throttled("message", request):
        return throttled
    svc.typing_notify(conversation=conversation, sender=Sender.VISITOR)
    return HttpResponse(status=204)


@widget_endpoint
def visitor_end(request: HttpRequest, chat_conversation_id: int) -> HttpResponse:
    conversation = _conversation(request, chat_conversation_id, _data(request))
    if denied := _method(request, "POST"):
        return denied
    svc.conversation_end(conversation=conversation)
    return JsonResponse({"state": Conversation.State.ENDED})


# --- Files, feedback, transcript (CHAT-07) and tracking (CHAT-08) ------------------------------
@widget_endpoint
def visitor_files(request: HttpRequest, chat_conversation_id: int) -> HttpResponse:
    """POST (multipart): the visitor's `file`, which becomes a message of the chat."""
    data = _data(request)
    conversation = _conversation(request, chat_conversation_id, data)
    if denied := _method(request, "POST"):
        return denied
    if throttled := _throttled("file", request):
        return throttled
    message = files.file_send_visitor(conversation=conversation, upload=request.FILES.get("file"))
    return JsonResponse(
        {"seq": message.seq, "message": realtime.message_event(message)}, status=201
    )


@widget_endpoint
def visitor_file(
    request: HttpRequest, chat_conversation_id: int, chat_attachment_id: int
) -> HttpResponse:
    """A file of the visitor's chat (`?token=`: a link cannot send a header)."""
    conversation = _conversation(request, chat_conversation_id, {})
    if denied := _method(request, "GET"):
        return denied
    attachment = files.attachment_of(conversation, chat_attachment_id)
    return stored_file_response(
        attachment.file, name=attachment.name, content_type=attachment.content_type
    )


@widget_endpoint
def visitor_feedback(request: HttpRequest, chat_conversation_id: int) -> HttpResponse:
    """POST `rating` (1 to 5) and `comment`, once the chat has ended."""
    data = _data(request)
    conversation = _conversation(request, chat_conversation_id, data)
    if denied := _method(request, "POST"):
        return denied
    if throttled := _throttled("message", request):
        return throttled
    feedback.feedback_leave(
        conversation=conversation,
        rating=str(data.get("rating") or ""),
        comment=str(data.get("comment") or ""),
    )
    return JsonResponse({"ok": True}, status=201)


@widget_endpoint
def visitor_transcript(request: HttpRequest, chat_conversation_id: int) -> HttpResponse:
    """POST `email` (the visitor's own when empty): the transcript by mail, now for an ended
    chat, else when it ends."""
    data = _data(request)
    conversation = _conversation(request, chat_conversation_id, data)
    if denied := _method(request, "POST"):
        return denied
    if throttled := _throttled("start", request):
        return throttled
    sent = transcripts.transcript_request(
        conversation=conversation, email=str(data.get("email") or "")
    )
    return JsonResponse({"sent": sent})


@widget_endpoint
def widget_track(request: HttpRequest, embed_key: str) -> HttpResponse:
    """The page the visitor opened (`visitor`, `url`, `title`, `referrer`) or, with `ping`,
    a heartbeat of the open page. Answers the operator's invitation when there is one."""
    if denied := _method(request, "POST"):
        return denied
    data = _data(request)
    if throttled := _throttled("track", request):
        return throttled
    try:
        report = tracking.track(
            org=request.portal_org,
            embed_key=embed_key,
            key=str(data.get("visitor") or ""),
            url=str(data.get("url") or ""),
            title=str(data.get("title") or ""),
            referrer=str(data.get("referrer") or ""),
            ip=client_ip(request),
            page_view=not data.get("ping"),
        )
    except ValidationError:
        # A report that names no department of ours is the 404 of a missing one, whatever
        # else is wrong with it (the valid report finds its department in its one statement).
        svc.department_for_embed(request.portal_org, embed_key)
        raise
    answer: dict = {}
    if report.invite_conversation_id:
        answer["invite"] = {"id": report.invite_conversation_id, "token": report.invite_token}
    return JsonResponse(answer)


@widget_endpoint
def visitor_leave_message(request: HttpRequest, chat_conversation_id: int) -> HttpResponse:
    """A missed chat's visitor leaves a message (`name`, `email`, `message`): it becomes a
    desk ticket (issue 15, item 3). Answers 201 without the ticket's details."""
    data = _data(request)
    conversation = _conversation(request, chat_conversation_id, data)
    if denied := _method(request, "POST"):
        return denied
    if throttled := _throttled("start", request):
        return throttled
    missed.leave_message(
        conversation=conversation,
        name=str(data.get("name") or ""),
        email=str(data.get("email") or ""),
        message=str(data.get("message") or ""),
        ip=client_ip(request),
    )
    return JsonResponse({"sent": True}, status=201)


# --- The stream --------------------------------------------------------------------------------
@tenant_public
@csrf_exempt
async def visitor_stream(request: HttpRequest, chat_conversation_id: int) -> HttpResponse:
    """The conversation's events as server-sent events, from the message after
    `Last-Event-ID` (or `?after=`); `?token=` is the credential."""
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204))
    if request.method != "GET":
        return _cors(JsonResponse({"error": "method not allowed"}, status=405))
    try:
        after = _after(request)
        conversation = await sync_to_async(_conversation)(request, chat_conversation_id, {})
    except BadRequest:
        return _cors(JsonResponse({"error": "bad request"}, status=400))
    except Http404:
        return _cors(JsonResponse({"error": "not found"}, status=404))
    response = event_stream(
        realtime.conversation_events(conversation.org_id, conversation.pk, after, announce_end=True)
    )
    return _cors(response)
