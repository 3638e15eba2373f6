"""URLs of the help center: `public_patterns` under /<portal>/help/ (namespace "help", for
customers, not members); `desk_patterns` join the desk under /<portal>/desk/ (namespace "desk");
`setup_patterns` live under /<portal>/setup/helpcenter/ (namespace "helpcenter")."""

from django.urls import path

from .views import public, report, setup

public_patterns = [
    path("", public.home, name="home"),
    path("signup/", public.signup, name="signup"),
    path("signin/", public.signin, name="signin"),
    path("sent/", public.sent, name="sent"),
    path("link/<str:token>/", public.link, name="link"),
    path("signout/", public.signout, name="signout"),
    path("logo/", public.logo, name="logo"),
    path("theme.css", public.theme, name="theme"),
    path("tickets/new/", public.ticket_new, name="ticket_new"),
    path("tickets/<int:number>/", public.ticket, name="ticket"),
    path("tickets/<int:number>/reply/", public.ticket_reply, name="ticket_reply"),
    path("tickets/<int:number>/rate/", public.ticket_rate, name="ticket_rate"),
    path(
        "tickets/<int:number>/attachments/<int:attachment_id>/",
        public.attachment,
        name="attachment",
    ),
    path("rate/<str:token>/", public.rate, name="rate"),
]
desk_patterns = [
    path("reports/satisfaction/", report.satisfaction, name="satisfaction_report"),
]
setup_patterns = [
    path("", setup.settings_page, name="settings"),
]
