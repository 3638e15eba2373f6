"""URLs of customers.pages (tabs), included by customers/urls.py in the "customers" namespace."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
