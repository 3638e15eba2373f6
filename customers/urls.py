"""Customers URLs under /<portal>/customers/ (namespace "customers"), CUS-01.

Object arguments are named contact_id, account_id and product_id: the cross-tenant walker
(tests/test_cross_tenant.py) fills them with another organization's ids."""

from django.urls import path

from . import views
from .pages import urls_io, urls_more, urls_records, urls_tabs

app_name = "customers"

urlpatterns = [
    path("", views.customers_home, name="home"),
    path("contacts/", views.contact_list, name="contacts"),
    path("contacts/new/", views.contact_create, name="contact_create"),
    path("contacts/duplicates/", views.duplicates, name="duplicates"),
    path("contacts/duplicates/merge/", views.contacts_merge, name="contacts_merge"),
    path("contacts/<int:contact_id>/", views.contact_detail, name="contact_detail"),
    path("contacts/<int:contact_id>/delete/", views.contact_delete, name="contact_delete"),
    path("accounts/", views.account_list, name="accounts"),
    path("accounts/new/", views.account_create, name="account_create"),
    path("accounts/<int:account_id>/", views.account_detail, name="account_detail"),
    path("accounts/<int:account_id>/delete/", views.account_delete, name="account_delete"),
    path("products/", views.product_list, name="products"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/<int:product_id>/", views.product_detail, name="product_detail"),
    path("products/<int:product_id>/delete/", views.product_delete, name="product_delete"),
]
urlpatterns += (
    urls_tabs.urlpatterns + urls_records.urlpatterns + urls_io.urlpatterns + urls_more.urlpatterns
)
