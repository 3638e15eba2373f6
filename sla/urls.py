"""URLs of the SLA app. `setup_patterns` live under /<portal>/setup/sla/ (namespace "sla"):
the policies per department and a blueprint state's SLA; `desk_patterns` under
/<portal>/desk/ (namespace "sla_desk"): a ticket's SLA panel and the SLA report."""

from django.urls import path

from .views import report, setup, ticket

setup_patterns = [
    path("", setup.policy_list, name="policies"),
    path("department/<int:dept_id>/", setup.policy_list, name="department"),
    path("department/<int:dept_id>/new/", setup.policy_edit, name="policy_create"),
    path("<int:policy_id>/", setup.policy_edit, name="policy_edit"),
    path("<int:policy_id>/delete/", setup.policy_delete, name="policy_delete"),
    path("states/<int:state_id>/", setup.state_sla_edit, name="state_sla"),
    path("states/<int:state_id>/delete/", setup.state_sla_remove, name="state_sla_delete"),
]
desk_patterns = [
    path("tickets/<int:number>/sla/", ticket.ticket_panel, name="ticket_panel"),
    path("reports/sla/", report.sla_report_view, name="report"),
]
