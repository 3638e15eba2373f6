"""URLs. Global pages first; everything of an organization lives under /<portal>/, where
TenantMiddleware resolves the organization and checks membership."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from api import urls as api_urls
from api.webhooks import urls as webhook_urls
from blueprints import ticket_urls as blueprints_ticket_urls
from blueprints import urls as blueprints_urls
from blueprints.actions import urls as bpactions_urls
from chat import urls as chat_urls
from chat.views import home as chat_home
from crmsync import urls as crm_urls
from crmsync.views import records as crm_records
from helpdesk import streams
from helpdesk.tenancy.forms import PasswordResetForm
from helpdesk.tenancy.views import account, apps, profile, signin, signup
from helpdesk.tickets import urls as tickets_urls
from helpdesk.tickets.activities import urls as activities_urls
from helpdesk.tickets.canned import urls as canned_urls
from helpdesk.tickets.collab import urls as collab_urls
from helpdesk.tickets.helpcenter import urls as helpcenter_urls
from helpdesk.tickets.imap import urls as imap_urls
from helpdesk.tickets.mailin import urls as mailin_urls
from helpdesk.tickets.mailtemplates import urls as mailtemplates_urls
from helpdesk.tickets.rules import urls as rules_urls
from reports import urls as reports_urls
from sla import urls as sla_urls

tenant_patterns = [
    path("", apps.org_home, name="org_home"),
    path("desk/", include((tickets_urls.desk_patterns, "desk"))),
    path(
        "desk/tickets/<int:number>/blueprint/",
        include((blueprints_ticket_urls.desk_patterns, "bp_ticket")),
    ),
    path("desk/", include((sla_urls.desk_patterns, "sla_desk"))),
    path("desk/", include((reports_urls.desk_patterns, "reports"))),
    path("customers/", include("customers.urls")),
    path("crm/", crm_records.home, name="crm_home"),
    path("crm/", include((crm_urls.crm_patterns, "crm"))),
    path("chat/", chat_home.home, name="chat_home"),
    path("chat/", include((chat_urls.chat_patterns, "chat"))),
    path("setup/", include("helpdesk.tenancy.urls")),
    path(
        "setup/departments/<int:dept_id>/layout/", include((tickets_urls.layout_patterns, "layout"))
    ),
    path(
        "setup/departments/<int:dept_id>/canned/", include((canned_urls.setup_patterns, "canned"))
    ),
    path("setup/rules/", include((rules_urls.setup_patterns, "rules"))),
    path("setup/blueprints/", include((blueprints_urls.setup_patterns, "blueprints"))),
    path("setup/mailin/", include((mailin_urls.setup_patterns, "mailin"))),
    path("setup/imap/", include((imap_urls.setup_patterns, "imap"))),
    path("setup/helpcenter/", include((helpcenter_urls.setup_patterns, "helpcenter"))),
    path("setup/collab/", include((collab_urls.setup_patterns, "collab"))),
    path("setup/activities/", include((activities_urls.setup_patterns, "activities"))),
    path("setup/mailtemplates/", include((mailtemplates_urls.setup_patterns, "mailtemplates"))),
    path("setup/blueprint-actions/", include((bpactions_urls.setup_patterns, "bpactions"))),
    path("setup/sla/", include((sla_urls.setup_patterns, "sla"))),
    path("setup/crm-keys/", include((crm_urls.key_patterns, "crmkeys"))),
    path("setup/webhooks/", include((webhook_urls.setup_patterns, "webhooks"))),
    path("help/", include((helpcenter_urls.public_patterns, "help"))),
    path("mail/", include((mailin_urls.public_patterns, "mailin_public"))),
    path("profile/", profile.profile, name="profile"),
    path("profile/api-tokens/", include((api_urls.token_patterns, "api_tokens"))),
    path("api/v1/", include((api_urls.api_patterns, "api"))),
    path("invitation/<str:token>/", account.invitation_accept_view, name="invitation_accept"),
]

urlpatterns = [
    path("", account.home, name="home"),
    path("healthz", account.healthz, name="healthz"),
    path("healthz/stream/", streams.heartbeat_stream, name="heartbeat_stream"),
    path("signup/", signup.signup, name="signup"),
    path("signup/sent/", signup.signup_sent, name="signup_sent"),
    path("signup/confirm/<str:token>/", signup.signup_confirm, name="signup_confirm"),
    path("orgs/", account.org_list, name="org_list"),
    path("language/", account.set_language, name="set_language"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="account/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password-reset/",
        auth_views.PasswordResetView.as_view(
            form_class=PasswordResetForm, template_name="account/password_reset.html"
        ),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="account/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        signin.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="account/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path("<slug:portal>/", include(tenant_patterns)),
]
