"""Chat URLs under /<portal>/chat/ (namespace "chat"; its start page is the top-level
"chat_home"): Setup > Chat > Departments (CHAT-01, CHAT-03..CHAT-06), and the widget's
public, cross-origin endpoints under widget/ and v/ (CHAT-02, CHAT-07; chat/views/visitor.py).
Every other chat URL is same-origin.

The message posts and typing notices of both sides are served beside the pages, on threads
of their own with the process's event loop free (`is_message_path`, helpdesk/asgi.py); the
streams by Django's ASGI handler (helpdesk/streams.py)."""

import re

from django.urls import path

from .views import blocking, console, departments, visitor, visitors

chat_patterns = [
    path("setup/departments/", departments.department_list, name="departments"),
    path("setup/departments/new/", departments.department_create, name="department_create"),
    path(
        "setup/departments/<int:chat_department_id>/",
        departments.department_detail,
        name="department",
    ),
    path(
        "setup/departments/<int:chat_department_id>/field/",
        departments.department_field,
        name="department_field",
    ),
    path(
        "setup/departments/<int:chat_department_id>/email/",
        departments.department_email,
        name="department_email",
    ),
    path(
        "setup/departments/<int:chat_department_id>/operators/add/",
        departments.operator_add,
        name="operator_add",
    ),
    path(
        "setup/departments/<int:chat_department_id>/operators/remove/",
        departments.operator_remove,
        name="operator_remove",
    ),
    path(
        "setup/departments/<int:chat_department_id>/status/",
        departments.department_status,
        name="department_status",
    ),
    path(
        "setup/departments/<int:chat_department_id>/embed-key/",
        departments.embed_key_regenerate,
        name="embed_key_regenerate",
    ),
    path(
        "setup/departments/<int:chat_department_id>/delete/",
        departments.department_delete,
        name="department_delete",
    ),
    # The widget (public: the embed key or the conversation's token is the credential).
    path("widget/<str:embed_key>.js", visitor.widget_script, name="widget_script"),
    path("widget/<str:embed_key>/config/", visitor.widget_config, name="widget_config"),
    path("widget/<str:embed_key>/conversations/", visitor.widget_start, name="widget_start"),
    path(
        "v/conversations/<int:chat_conversation_id>/messages/",
        visitor.visitor_messages,
        name="visitor_messages",
    ),
    path(
        "v/conversations/<int:chat_conversation_id>/typing/",
        visitor.visitor_typing,
        name="visitor_typing",
    ),
    path(
        "v/conversations/<int:chat_conversation_id>/end/",
        visitor.visitor_end,
        name="visitor_end",
    ),
    path(
        "v/conversations/<int:chat_conversation_id>/leave-message/",
        visitor.visitor_leave_message,
        name="visitor_leave_message",
    ),
    path(
        "v/conversations/<int:chat_conversation_id>/files/",
        visitor.visitor_files,
        name="visitor_files",
    ),
    path(
        "v/conversations/<int:chat_conversation_id>/files/<int:chat_attachment_id>/",
        visitor.visitor_file,
        name="visitor_file",
    ),
    path(
        "v/conversations/<int:chat_conversation_id>/feedback/",
        visitor.visitor_feedback,
        name="visitor_feedback",
    ),
    path(
        "v/conversations/<int:chat_conversation_id>/transcript/",
        visitor.visitor_transcript,
        name="visitor_transcript",
    ),
    path("widget/<str:embed_key>/track/", visitor.widget_track, name="widget_track"),
    path(
        "v/conversations/<int:chat_conversation_id>/stream/",
        visitor.visitor_stream,
        name="visitor_stream",
    ),
    # The operators' console (members; same-origin).
    path(
        "conversations/<int:chat_conversation_id>/",
        console.conversation_detail,
        name="conversation",
    ),
    path(
        "conversations/<int:chat_conversation_id>/accept/",
        console.conversation_accept,
        name="conversation_accept",
    ),
    path(
        "conversations/<int:chat_conversation_id>/reply/",
        console.conversation_reply,
        name="conversation_reply",
    ),
    path(
        "conversations/<int:chat_conversation_id>/typing/",
        console.conversation_typing,
        name="conversation_typing",
    ),
    path(
        "conversations/<int:chat_conversation_id>/end/",
        console.conversation_end,
        name="conversation_end",
    ),
    path(
        "conversations/<int:chat_conversation_id>/transfer/",
        console.conversation_transfer,
        name="conversation_transfer",
    ),
    path(
        "conversations/<int:chat_conversation_id>/ticket/",
        console.conversation_ticket,
        name="conversation_ticket",
    ),
    path("console/", console.console_home, name="console"),
    path("console/chats/", console.console_chats, name="console_chats"),
    path("console/presence/", console.console_presence, name="console_presence"),
    path(
        "conversations/<int:chat_conversation_id>/stream/",
        console.conversation_stream,
        name="conversation_stream",
    ),
    # Files, blocking, visitors and feedback (CHAT-07, CHAT-08; issue 15 items 2, 5, 7).
    path(
        "conversations/<int:chat_conversation_id>/files/<int:chat_attachment_id>/",
        visitors.conversation_file,
        name="conversation_file",
    ),
    path(
        "conversations/<int:chat_conversation_id>/block/",
        blocking.conversation_block,
        name="conversation_block",
    ),
    path("setup/blocked/", blocking.blocked_list, name="blocked"),
    path(
        "setup/blocked/<int:chat_blocked_ip_id>/unblock/",
        blocking.blocked_remove,
        name="blocked_remove",
    ),
    path("visitors/", visitors.visitor_list, name="visitors"),
    path("visitors/<int:chat_visitor_id>/", visitors.visitor_detail, name="visitor"),
    path("feedback/", visitors.feedback_list, name="feedback"),
]


# The paths of the chat's messages and typing notices: the widget's messages (posted, and
# polled) and typing, the console's reply and typing. helpdesk/asgi.py serves them beside the
# pages; tests/chat/test_message_posts.py checks that these four URLs are matched and no other.
_MESSAGE_PATH = re.compile(
    r"/[^/]+/chat/(?:v/conversations/\d+/(?:messages|typing)|conversations/\d+/(?:reply|typing))/"
)


def is_message_path(path: str) -> bool:
    """Whether an ASGI request path names one of the chat's message posts (see above)."""
    return _MESSAGE_PATH.fullmatch(path) is not None
