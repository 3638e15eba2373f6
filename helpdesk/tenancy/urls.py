"""Setup URLs of an organization, under /<portal>/setup/ (namespace "setup")."""

from django.urls import path

from .views import departments, setup

app_name = "setup"

urlpatterns = [
    path("", setup.setup_home, name="home"),
    path("organization/", setup.organization, name="organization"),
    path("organization/details/", setup.organization_details, name="organization_details"),
    path("organization/portal/", setup.organization_portal, name="organization_portal"),
    path("organization/plan/", setup.organization_plan, name="organization_plan"),
    path("organization/transfer/", setup.organization_transfer, name="organization_transfer"),
    path("users/", setup.users, name="users"),
    path("users/invite/", setup.user_invite, name="user_invite"),
    path("users/<int:member_id>/", setup.user_detail, name="user_detail"),
    path("users/<int:member_id>/reinvite/", setup.user_reinvite, name="user_reinvite"),
    path("users/<int:member_id>/activate/", setup.user_activate, name="user_activate"),
    path("users/<int:member_id>/deactivate/", setup.user_deactivate, name="user_deactivate"),
    path("users/<int:member_id>/delete/", setup.user_delete, name="user_delete"),
    path("users/<int:member_id>/export/", setup.user_export, name="user_export"),
    path("departments/", departments.department_list, name="departments"),
    path("layouts/", departments.department_section, {"section": "layouts"}, name="layouts"),
    path("business-hours/", departments.department_section, {"section": "hours"}, name="hours"),
    path("holidays/", departments.department_section, {"section": "holidays"}, name="holidays"),
    path("departments/new/", departments.department_create, name="department_create"),
    path("departments/<int:dept_id>/", departments.department_edit, name="department_edit"),
    path(
        "departments/<int:dept_id>/toggle/", departments.department_toggle, name="department_toggle"
    ),
    path(
        "departments/<int:dept_id>/delete/", departments.department_delete, name="department_delete"
    ),
    path(
        "departments/<int:dept_id>/agents/", departments.department_agents, name="department_agents"
    ),
    path("departments/<int:dept_id>/teams/new/", departments.team_create, name="team_create"),
    path("departments/<int:dept_id>/teams/<int:team_id>/", departments.team_edit, name="team_edit"),
    path(
        "departments/<int:dept_id>/teams/<int:team_id>/delete/",
        departments.team_delete,
        name="team_delete",
    ),
    path("departments/<int:dept_id>/hours/", departments.business_hours, name="department_hours"),
    path("departments/<int:dept_id>/holidays/", departments.holidays, name="department_holidays"),
    path(
        "departments/<int:dept_id>/holidays/import/",
        departments.holidays_import,
        name="holidays_import",
    ),
    path(
        "departments/<int:dept_id>/holidays/<int:holiday_id>/delete/",
        departments.holiday_delete,
        name="holiday_delete",
    ),
]
