"""Chat URLs under /<portal>/chat/ (namespace "chat"; its start page is the top-level
"chat_home"): Setup > Chat > Departments (CHAT-01, CHAT-03..CHAT-06)."""

from django.urls import path

from .views import departments

chat_patterns = [
    path("setup/departments/", departments.department_list, name="departments"),
    path("setup/departments/new/", departments.department_create, name="department_create"),
    path(
        "setup/departments/<int:chat_department_id>/",
        departments.department_detail,
        name="department",
    ),
    path(
        "setup/departments/<int:chat_department_id>/field/",
        departments.department_field,
        name="department_field",
    ),
    path(
        "setup/departments/<int:chat_department_id>/email/",
        departments.department_email,
        name="department_email",
    ),
    path(
        "setup/departments/<int:chat_department_id>/operators/add/",
        departments.operator_add,
        name="operator_add",
    ),
    path(
        "setup/departments/<int:chat_department_id>/operators/remove/",
        departments.operator_remove,
        name="operator_remove",
    ),
    path(
        "setup/departments/<int:chat_department_id>/status/",
        departments.department_status,
        name="department_status",
    ),
    path(
        "setup/departments/<int:chat_department_id>/embed-key/",
        departments.embed_key_regenerate,
        name="embed_key_regenerate",
    ),
    path(
        "setup/departments/<int:chat_department_id>/delete/",
        departments.department_delete,
        name="department_delete",
    ),
]
