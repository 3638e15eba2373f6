"""Setup → Help center (TKT-08): enabled, title, logo, colour, published departments, public
fields, account visibility and the rating mail. Desk administrators only."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from helpdesk.http import apply_errors
from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app_admin

from ..forms import SettingsForm
from ..models import DEFAULT_COLOR
from ..services import settings_for, settings_save
from ..theme import contrast, theme_for


@require_app_admin(App.DESK)
def settings_page(request: HttpRequest) -> HttpResponse:
    org = request.org
    row = settings_for(org)
    form = SettingsForm(request.POST or None, request.FILES or None, org=org, row=row)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            settings_save(
                actor=request.membership,
                enabled=data["enabled"],
                title=data["title"],
                intro=data["intro"],
                primary_color=data["primary_color"],
                department_ids=[int(i) for i in data["departments"]],
                public_field_ids=[int(i) for i in data["public_fields"]],
                show_account_tickets=data["show_account_tickets"],
                rating_mail=data["rating_mail"],
                logo=data["logo"] or None,
                remove_logo=data["remove_logo"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Help center settings saved."))
            return redirect("helpcenter:settings", portal=org.portal)
    theme = theme_for(row.primary_color, DEFAULT_COLOR)
    return render(
        request,
        "helpcenter/setup.html",
        {
            "form": form,
            "row": row,
            "theme": theme,
            "text_contrast": round(contrast(theme.primary, theme.on_primary), 1),
            "help_url": reverse("help:home", kwargs={"portal": org.portal}),
            # The logo is served by the help center, so it shows here once that is open.
            "logo_url": (
                reverse("help:logo", kwargs={"portal": org.portal})
                if row.logo and row.enabled
                else ""
            ),
        },
        status=400 if form.errors else 200,
    )
