"""URLs of incoming email: `public_patterns` under /<portal>/mail/ (namespace "mailin_public":
the relay's inbound endpoint, authenticated by the organization's secret, not a session);
`desk_patterns` join the desk under /<portal>/desk/ (namespace "desk"); `setup_patterns` live
under /<portal>/setup/mailin/ (namespace "mailin")."""

from django.urls import path

from . import views

public_patterns: list = [
    path("inbound/", views.inbound, name="inbound"),
]
desk_patterns: list = []
setup_patterns: list = [
    path("", views.mail_setup, name="mail_setup"),
    path("secret/", views.secret_regenerate, name="secret_regenerate"),
    path("held/<int:inbound_id>/", views.held_detail, name="held_detail"),
    path("held/<int:inbound_id>/raw/", views.held_raw, name="held_raw"),
    path("held/<int:inbound_id>/retry/", views.held_retry_view, name="held_retry"),
    path("held/<int:inbound_id>/delete/", views.held_delete_view, name="held_delete"),
]
