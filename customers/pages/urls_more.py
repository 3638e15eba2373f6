"""URLs of customers.pages (activities and attachments tabs, CUS-05 and CUS-11), included by
customers/urls.py in the "customers" namespace. `file_id` and `note_id` are taught to the
cross-tenant walker (tests/test_cross_tenant.py)."""

from django.urls import path

from . import activities, attachments

urlpatterns = [
    path(
        "contacts/<int:contact_id>/tabs/activities/",
        activities.contact_activities,
        name="contact_activities",
    ),
    path(
        "accounts/<int:account_id>/tabs/activities/",
        activities.account_activities,
        name="account_activities",
    ),
    path(
        "contacts/<int:contact_id>/tabs/activities/<int:activity_id>/",
        activities.contact_activity_action,
        name="contact_activity_action",
    ),
    path(
        "accounts/<int:account_id>/tabs/activities/<int:activity_id>/",
        activities.account_activity_action,
        name="account_activity_action",
    ),
    path(
        "contacts/<int:contact_id>/tabs/attachments/",
        attachments.contact_attachments,
        name="contact_attachments",
    ),
    path(
        "accounts/<int:account_id>/tabs/attachments/",
        attachments.account_attachments,
        name="account_attachments",
    ),
    path("files/<int:file_id>/", attachments.file_download, name="customer_file"),
    path("files/<int:file_id>/delete/", attachments.file_remove, name="customer_file_delete"),
    path("notes/<int:note_id>/delete/", attachments.note_remove, name="customer_note_delete"),
]
