"""Customers URLs under /<portal>/customers/ (namespace "customers")."""

from django.urls import path

from . import views

app_name = "customers"

urlpatterns = [
    path("contacts/", views.contact_list, name="contacts"),
]
