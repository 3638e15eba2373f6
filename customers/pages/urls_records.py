"""URLs of customers.pages (records), included by customers/urls.py in the "customers"
namespace: the History tab (CUS-04) with its entries (`entry_id`, taught to the cross-tenant
walker), the custom fields setup of contacts and accounts (`customer_field_id`, idem) and the record
forms' tag suggestions."""

from django.urls import path

from . import fields, records

urlpatterns = [
    path("tags/suggest/", records.tag_suggest, name="tag_suggest"),
    path(
        "contacts/<int:contact_id>/tabs/history/", records.contact_history, name="contact_history"
    ),
    path(
        "accounts/<int:account_id>/tabs/history/", records.account_history, name="account_history"
    ),
    path(
        "contacts/<int:contact_id>/tabs/history/<int:entry_id>/",
        records.contact_history_entry,
        name="contact_history_entry",
    ),
    path(
        "accounts/<int:account_id>/tabs/history/<int:entry_id>/",
        records.account_history_entry,
        name="account_history_entry",
    ),
    path("fields/", fields.fields_home, name="fields"),
    path("fields/new/", fields.field_create, name="field_create"),
    path("fields/reorder/", fields.fields_reorder, name="fields_reorder"),
    path("fields/<int:customer_field_id>/", fields.field_edit, name="field_edit"),
    path("fields/<int:customer_field_id>/active/", fields.field_active, name="field_active"),
]
