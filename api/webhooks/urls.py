"""Desk Setup → Webhooks, at /<portal>/setup/webhooks/ (namespace `webhooks`)."""

from django.urls import path

from . import views

setup_patterns = [
    path("", views.webhook_list, name="list"),
    path("new/", views.webhook_create, name="create"),
    path("<int:webhook_id>/", views.webhook_edit, name="edit"),
    path("<int:webhook_id>/delete/", views.webhook_delete, name="delete"),
    path("<int:webhook_id>/rotate/", views.webhook_rotate, name="rotate"),
    path("<int:webhook_id>/test/", views.webhook_test, name="test"),
]
