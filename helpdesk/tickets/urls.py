"""Desk URLs under /<portal>/desk/ (namespace "desk") and layout settings under
/<portal>/setup/departments/<dept_id>/layout/ (namespace "layout")."""

from django.urls import path

from .activities import urls as activities_urls
from .canned import urls as canned_urls
from .collab import urls as collab_urls
from .helpcenter import urls as helpcenter_urls
from .imap import urls as imap_urls
from .mailin import urls as mailin_urls
from .rules import urls as rules_urls
from .views import dashboard, editor, layout, ticket, ticket_extras
from .views import list as list_views

desk_patterns = [
    path("", list_views.ticket_list, name="home"),
    path("counts/", list_views.ticket_view_counts, name="view_counts"),
    path("columns/", list_views.list_columns, name="list_columns"),
    path("views/new/", list_views.saved_view_new, name="saved_view_new"),
    path(
        "views/<int:saved_view_id>/delete/", list_views.saved_view_remove, name="saved_view_delete"
    ),
    path("lookup/contacts/", list_views.lookup_contacts, name="lookup_contacts"),
    path("lookup/accounts/", list_views.lookup_accounts, name="lookup_accounts"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("tickets/bulk/", list_views.ticket_bulk, name="ticket_bulk"),
    path("tickets/new/", ticket.ticket_create_view, name="ticket_create"),
    path("tickets/<int:number>/", ticket.ticket_detail, name="ticket_detail"),
    path("tickets/<int:number>/edit/", ticket.ticket_edit_view, name="ticket_edit"),
    path("tickets/<int:number>/history/", ticket.ticket_history, name="ticket_history"),
    path("tickets/<int:number>/more/", ticket.ticket_more_panels, name="ticket_more_panels"),
    path("tickets/<int:number>/properties/", ticket.ticket_properties, name="ticket_properties"),
    path("tickets/<int:number>/thread/", ticket.ticket_thread, name="ticket_thread"),
    path(
        "tickets/<int:number>/attachments/inline/",
        editor.inline_image_upload,
        name="attachment_inline",
    ),
    path(
        "tickets/<int:number>/attachments/<int:attachment_id>/",
        ticket.attachment_download,
        name="attachment",
    ),
    *canned_urls.desk_patterns,
    *rules_urls.desk_patterns,
    *mailin_urls.desk_patterns,
    *imap_urls.desk_patterns,
    *helpcenter_urls.desk_patterns,
    *collab_urls.desk_patterns,
    *activities_urls.desk_patterns,
    *ticket_extras.urlpatterns,
]

layout_patterns = [
    path("", layout.layout_home, name="home"),
    path("statuses/new/", layout.status_create, name="status_create"),
    path("statuses/order/", layout.statuses_reorder, name="statuses_reorder"),
    path("statuses/<int:status_id>/", layout.status_edit, name="status_edit"),
    path("statuses/<int:status_id>/delete/", layout.status_delete, name="status_delete"),
    path("fields/order/", layout.fields_reorder, name="fields_reorder"),
    path("fields/new/", layout.field_create, name="field_create"),
    path("fields/<int:field_id>/", layout.field_edit, name="field_edit"),
    path("fields/<int:field_id>/delete/", layout.field_delete, name="field_delete"),
]
