"""URLs of this app: `desk_patterns` join the desk under /<portal>/desk/ (namespace "desk");
`setup_patterns` live under /<portal>/setup/imap/ (namespace "imap")."""

from django.urls import path

from . import views

desk_patterns: list = []
setup_patterns = [
    path("", views.mailbox_list, name="mailboxes"),
    path("new/", views.mailbox_edit, name="mailbox_create"),
    path("<int:mailbox_id>/", views.mailbox_edit, name="mailbox_edit"),
    path("<int:mailbox_id>/test/", views.mailbox_test_view, name="mailbox_test"),
    path("<int:mailbox_id>/toggle/", views.mailbox_toggle, name="mailbox_toggle"),
    path("<int:mailbox_id>/delete/", views.mailbox_delete_view, name="mailbox_delete"),
]
