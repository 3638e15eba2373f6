"""URLs of this app: `desk_patterns` join the desk under /<portal>/desk/ (namespace "desk");
`setup_patterns` live under /<portal>/setup/collab/ (namespace "collab"), none yet: approvals,
solutions and sharing need no settings."""

from django.urls import path

from . import views

desk_patterns = [
    path("approvals/", views.pending_approvals, name="collab_pending_approvals"),
    path("shared/", views.shared_with_me, name="collab_shared"),
    path("tickets/<int:number>/approvals/", views.approvals_panel, name="collab_approvals"),
    path(
        "tickets/<int:number>/approvals/<int:approval_id>/decide/",
        views.approval_decide_view,
        name="collab_approval_decide",
    ),
    path(
        "tickets/<int:number>/approvals/<int:approval_id>/withdraw/",
        views.approval_withdraw_view,
        name="collab_approval_withdraw",
    ),
    path("tickets/<int:number>/solution/", views.solution_panel, name="collab_solution"),
    path(
        "tickets/<int:number>/solution/reuse/",
        views.solution_reuse_view,
        name="collab_solution_reuse",
    ),
    path("tickets/<int:number>/sharing/", views.sharing_panel, name="collab_sharing"),
    path(
        "tickets/<int:number>/sharing/<int:share_id>/revoke/",
        views.share_revoke_view,
        name="collab_share_revoke",
    ),
]
setup_patterns: list = []
