"""URLs of the blueprints app. `setup_patterns` live under /<portal>/setup/blueprints/
(namespace "blueprints"): the list per department, a blueprint's forms, its states and
transitions, and the remove-from-all-tickets job."""

from django.urls import path

from . import settings_views as views
from .editor import views as editor_views
from .versions import views as version_views

setup_patterns = [
    path("", views.blueprint_list, name="list"),
    path("department/<int:dept_id>/", views.blueprint_list, name="department"),
    path("department/<int:dept_id>/new/", views.blueprint_edit, name="create"),
    path("department/<int:dept_id>/order/", views.blueprint_order, name="order"),
    path("<int:blueprint_id>/", views.blueprint_edit, name="edit"),
    path("<int:blueprint_id>/action/", views.blueprint_action, name="action"),
    path("<int:blueprint_id>/process/", views.blueprint_process, name="process"),
    path("<int:blueprint_id>/draw/", editor_views.editor, name="editor"),
    path("<int:blueprint_id>/draw/graph/", editor_views.editor_graph, name="editor_graph"),
    path("<int:blueprint_id>/draw/status/", editor_views.editor_status_add, name="editor_status"),
    path(
        "<int:blueprint_id>/states/<int:state_id>/delete/",
        views.state_delete,
        name="state_delete",
    ),
    path("<int:blueprint_id>/transitions/new/", views.transition_edit, name="transition_create"),
    path(
        "<int:blueprint_id>/transitions/<int:transition_id>/",
        views.transition_edit,
        name="transition_edit",
    ),
    path(
        "<int:blueprint_id>/transitions/<int:transition_id>/delete/",
        views.transition_delete,
        name="transition_delete",
    ),
    path("<int:blueprint_id>/remove-all/", views.removal_start, name="remove_all"),
    path("removals/<int:removal_id>/", views.removal_status, name="removal"),
    path("<int:blueprint_id>/versions/", version_views.version_list, name="versions"),
    path(
        "<int:blueprint_id>/versions/compare/",
        version_views.version_compare,
        name="version_compare",
    ),
    path("<int:blueprint_id>/try/", version_views.sandbox_page, name="sandbox"),
]
