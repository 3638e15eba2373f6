"""Setup › Mail templates under /<portal>/setup/mailtemplates/ (namespace "mailtemplates")."""

from django.urls import path

from . import views

setup_patterns = [
    path("", views.template_list, name="template_list"),
    path("new/", views.template_edit, name="template_create"),
    path("<int:mail_template_id>/", views.template_edit, name="template_edit"),
    path("<int:mail_template_id>/preview/", views.template_preview, name="template_preview"),
    path("<int:mail_template_id>/delete/", views.template_delete, name="template_delete"),
]
