"""URLs of the reports app under /<portal>/desk/reports/ (namespace "reports")."""

from django.urls import path

from .views import blueprint

desk_patterns = [
    path("reports/blueprints/", blueprint.report_index, name="blueprint_index"),
    path("reports/blueprints/<int:blueprint_id>/", blueprint.report_page, name="blueprint"),
    path("reports/blueprints/<int:blueprint_id>/csv/", blueprint.report_csv, name="blueprint_csv"),
]
