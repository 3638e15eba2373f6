"""URLs of this app: `desk_patterns` join the desk under /<portal>/desk/ (namespace "desk");
`setup_patterns` live under /<portal>/setup/rules/ (namespace "rules")."""

from django.urls import path

from . import views

desk_patterns = [
    path("availability/", views.my_availability, name="rules_availability"),
]
setup_patterns = [
    path("", views.rules_home, name="rules"),
    path("assignment/new/", views.assignment_edit, name="assignment_create"),
    path("assignment/<int:assignment_rule_id>/", views.assignment_edit, name="assignment_edit"),
    path(
        "assignment/<int:assignment_rule_id>/action/",
        views.assignment_action,
        name="assignment_action",
    ),
    path("workflow/new/", views.workflow_edit, name="workflow_create"),
    path("workflow/<int:workflow_rule_id>/", views.workflow_edit, name="workflow_edit"),
    path("workflow/<int:workflow_rule_id>/action/", views.workflow_action, name="workflow_action"),
    path("round-robin/<int:dept_id>/", views.round_robin_toggle, name="round_robin"),
    path("availability/<int:member_id>/", views.availability_toggle, name="availability"),
]
