"""Canned-response URLs: the agent's own and the reply box's search under /<portal>/desk/
(namespace "desk"), the department's under /<portal>/setup/departments/<dept_id>/canned/
(namespace "canned")."""

from django.urls import path

from . import views

desk_patterns = [
    path("canned/", views.canned_list, name="canned_list"),
    path("canned/new/", views.canned_edit, name="canned_create"),
    path("canned/<int:canned_id>/", views.canned_edit, name="canned_edit"),
    path("canned/<int:canned_id>/delete/", views.canned_delete, name="canned_delete"),
    path("tickets/<int:number>/canned/", views.canned_search, name="canned_search"),
]

# Named "department_*" so the Setup menu marks Departments as the current place.
setup_patterns = [
    path("", views.department_canned_list, name="department_canned"),
    path("new/", views.department_canned_edit, name="department_canned_create"),
    path("<int:canned_id>/", views.department_canned_edit, name="department_canned_edit"),
    path(
        "<int:canned_id>/delete/", views.department_canned_delete, name="department_canned_delete"
    ),
]
