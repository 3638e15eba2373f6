"""CRM URLs: the module under /<portal>/crm/ (namespace "crm"; its start page is the top-level
"crm_home") and the Desk Setup's integration keys under /<portal>/setup/crm-keys/ (namespace
"crmkeys")."""

from django.urls import path

from .views import keys, record_tickets, records, setup, signals, sync
from .views import tickets as desk_tickets

crm_patterns = [
    path("accounts/", records.account_list, name="accounts"),
    path("accounts/new/", records.account_create, name="account_create"),
    path("accounts/<int:crm_account_id>/", records.account_detail, name="account_detail"),
    path("accounts/<int:crm_account_id>/edit/", records.account_edit, name="account_edit"),
    path("accounts/<int:crm_account_id>/delete/", records.account_delete, name="account_delete"),
    path("contacts/", records.contact_list, name="contacts"),
    path("contacts/new/", records.contact_create, name="contact_create"),
    path("contacts/<int:crm_contact_id>/", records.contact_detail, name="contact_detail"),
    path("contacts/<int:crm_contact_id>/edit/", records.contact_edit, name="contact_edit"),
    path("contacts/<int:crm_contact_id>/delete/", records.contact_delete, name="contact_delete"),
    path("deals/", records.deal_list, name="deals"),
    path("deals/new/", records.deal_create, name="deal_create"),
    path("deals/<int:deal_id>/", records.deal_detail, name="deal_detail"),
    path("deals/<int:deal_id>/edit/", records.deal_edit, name="deal_edit"),
    path("deals/<int:deal_id>/delete/", records.deal_delete, name="deal_delete"),
    # Desk tickets on CRM records (CRM-08, CRM-09, CRM-12, CRM-13).
    path(
        "accounts/<int:crm_account_id>/tickets/",
        record_tickets.account_tickets,
        name="account_tickets",
    ),
    path(
        "accounts/<int:crm_account_id>/ticket-stats/",
        record_tickets.account_ticket_stats,
        name="account_ticket_stats",
    ),
    path(
        "contacts/<int:crm_contact_id>/tickets/",
        record_tickets.contact_tickets,
        name="contact_tickets",
    ),
    path(
        "contacts/<int:crm_contact_id>/ticket-stats/",
        record_tickets.contact_ticket_stats,
        name="contact_ticket_stats",
    ),
    path("deals/<int:deal_id>/tickets/", record_tickets.deal_tickets, name="deal_tickets"),
    path(
        "deals/<int:deal_id>/ticket-stats/",
        record_tickets.deal_ticket_stats,
        name="deal_ticket_stats",
    ),
    path(
        "deals/<int:deal_id>/tickets/link/",
        record_tickets.deal_tickets_link,
        name="deal_tickets_link",
    ),
    path(
        "deals/<int:deal_id>/tickets/<int:number>/unlink/",
        record_tickets.deal_ticket_unlink,
        name="deal_ticket_unlink",
    ),
    # Desk tickets from the CRM (CRM-10, CRM-11): create one from a record, read and act on it.
    path("tickets/new/", desk_tickets.ticket_create, name="ticket_create"),
    path("tickets/<int:number>/", desk_tickets.ticket_detail, name="ticket"),
    path("tickets/<int:number>/reply/", desk_tickets.ticket_reply, name="ticket_reply"),
    path("tickets/<int:number>/forward/", desk_tickets.ticket_forward, name="ticket_forward"),
    path("tickets/<int:number>/comment/", desk_tickets.ticket_comment, name="ticket_comment"),
    path("tickets/<int:number>/update/", desk_tickets.ticket_update, name="ticket_update"),
    path("tickets/<int:number>/close/", desk_tickets.ticket_close, name="ticket_close"),
    path("tickets/<int:number>/delete/", desk_tickets.ticket_delete, name="ticket_delete"),
    path(
        "tickets/<int:number>/attachments/<int:attachment_id>/",
        desk_tickets.ticket_attachment,
        name="ticket_attachment",
    ),
    path("products/", records.product_list, name="products"),
    path("products/new/", records.product_create, name="product_create"),
    path("products/<int:crm_product_id>/edit/", records.product_edit, name="product_edit"),
    path("products/<int:crm_product_id>/delete/", records.product_delete, name="product_delete"),
    path("setup/", setup.setup, name="setup"),
    path("setup/connect/own/", setup.connect_own, name="connect_own"),
    path("setup/connect/other/", setup.connect_other, name="connect_other"),
    path("setup/state/", setup.state, name="state"),
    path("setup/options/", setup.options, name="options"),
    path("setup/reauthorise/", setup.reauthorise, name="reauthorise"),
    path("setup/invite/", setup.invite, name="invite"),
    path("setup/remove/", setup.remove, name="remove"),
    path("setup/settings/", setup.settings, name="settings"),
    path("setup/sync/", sync.sync_health, name="sync"),
    path("setup/sync/dry-run/", sync.sync_dry_run, name="sync_dry_run"),
    path("setup/sync/resync/", sync.sync_resync, name="sync_resync"),
    path("setup/sync/runs/<int:sync_run_id>/", sync.sync_run, name="sync_run"),
    # Sales signals (CRM-14): the current user's notifications and preferences.
    path("signals/", signals.signal_list, name="signals"),
    path("signals/settings/", signals.signal_settings, name="signal_settings"),
    path("signals/read-all/", signals.signal_read_all, name="signals_read_all"),
    path("signals/<int:signal_id>/read/", signals.signal_read, name="signal_read"),
]

key_patterns = [
    path("", keys.key_list, name="list"),
    path("<int:key_id>/revoke/", keys.key_revoke, name="revoke"),
]
