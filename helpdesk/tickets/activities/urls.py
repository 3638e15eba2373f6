"""URLs of this app: `desk_patterns` join the desk under /<portal>/desk/ (namespace "desk");
`setup_patterns` live under /<portal>/setup/activities/ (namespace "activities": nothing to
set up yet)."""

from django.urls import path

from . import views

desk_patterns = [
    path("activities/", views.activity_list, name="activity_list"),
    path("activities/<int:activity_id>/", views.activity_edit, name="activity_edit"),
    path("activities/<int:activity_id>/done/", views.activity_done, name="activity_done"),
    path("activities/<int:activity_id>/spam/", views.activity_spam, name="activity_spam"),
    path("activities/<int:activity_id>/delete/", views.activity_remove, name="activity_delete"),
    path(
        "tickets/<int:number>/activities/",
        views.ticket_activities_view,
        name="ticket_activities",
    ),
    path("tickets/<int:number>/time/", views.ticket_time_view, name="ticket_time"),
    path(
        "tickets/<int:number>/time/<int:time_entry_id>/",
        views.time_entry_edit,
        name="time_entry_edit",
    ),
    path(
        "tickets/<int:number>/time/<int:time_entry_id>/delete/",
        views.time_entry_remove,
        name="time_entry_delete",
    ),
    path("tickets/<int:number>/timer/", views.ticket_timer_view, name="ticket_timer"),
]
setup_patterns: list = []
