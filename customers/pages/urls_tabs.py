"""URLs of customers.pages (tabs), included by customers/urls.py in the "customers" namespace.

The Overview, Tickets, Interactions, Time entries, Happiness (contacts only) and Products
tabs (customers.pages.tabs): `contacts/<contact_id>/tabs/<tab>/` named `contact_<tab>` and
`accounts/<account_id>/tabs/<tab>/` named `account_<tab>`. An account has no Happiness tab."""

from django.urls import path

from . import tabs

urlpatterns = [
    path(
        f"{kind}s/<int:{kind}_id>/tabs/{tab}/",
        getattr(tabs, f"{kind}_{tab}"),
        name=f"{kind}_{tab}",
    )
    for kind in ("contact", "account")
    for tab in ("overview", "tickets", "interactions", "time", "happiness", "products")
    if (kind, tab) != ("account", "happiness")
]
