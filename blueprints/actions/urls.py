"""Setup pages of the after-actions under /<portal>/setup/blueprint-actions/ (namespace
"bpactions"; names start with "action_")."""

from django.urls import path

from . import views

setup_patterns = [
    path("", views.action_list, name="action_list"),
    path("new/", views.action_create, name="action_create"),
    path("<int:after_action_id>/", views.action_edit, name="action_edit"),
    path("<int:after_action_id>/delete/", views.action_delete, name="action_delete"),
    path("secret/rotate/", views.action_secret_rotate, name="action_secret_rotate"),
    path("runs/<int:after_action_run_id>/retry/", views.action_run_retry, name="action_run_retry"),
]
