"""The ticket side of blueprints (BP-25), under /<portal>/desk/tickets/<number>/blueprint/
(namespace "bp_ticket")."""

from django.urls import path

from . import ticket_views as views

desk_patterns = [
    path("", views.blueprint_bar, name="bar"),
    path("flow/", views.blueprint_flow, name="flow"),
    path("remove/", views.blueprint_remove, name="remove"),
    path("<int:transition_id>/", views.transition_dialog, name="dialog"),
    path("<int:transition_id>/entry/", views.transition_entry, name="entry"),
    path("<int:transition_id>/complete/", views.transition_complete, name="complete"),
    path("<int:transition_id>/reassign/", views.transition_reassign, name="reassign"),
]
