"""URLs of customers.pages (io), included by customers/urls.py in the "customers" namespace:
export of contacts and accounts, import with preview and job progress (CUS-01)."""

from django.urls import URLPattern, path

from . import io

urlpatterns: list[URLPattern] = [
    path("contacts/export/", io.contact_export, name="contact_export"),
    path("accounts/export/", io.account_export, name="account_export"),
    path("import/", io.import_upload, name="import"),
    path("import/<int:import_job_id>/", io.import_job, name="import_job"),
    path("import/<int:import_job_id>/confirm/", io.import_confirm, name="import_confirm"),
]
