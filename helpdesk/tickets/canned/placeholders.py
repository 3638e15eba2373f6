"""Placeholders of canned responses: `{{ticket.number}}` style, spaces inside allowed.

A pure module: which names exist, which a text uses, and the text with values put in. Text in,
text out: values are inserted as typed, and whoever shows the result escapes it. Other features
(mail templates) pass their own vocabulary as `known`; the default is the canned responses'.
Nothing is evaluated: a name is looked up in a fixed mapping, never resolved as an attribute."""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")

# Name -> what it stands for (shown as help next to the editor).
PLACEHOLDERS = {
    "ticket.number": gettext_lazy("Ticket number"),
    "ticket.subject": gettext_lazy("Ticket subject"),
    "contact.name": gettext_lazy("Contact name"),
    "agent.name": gettext_lazy("Your name (the agent who replies)"),
    "department.name": gettext_lazy("Department"),
}


def as_code(name: str) -> str:
    """How a placeholder is written: `{{name}}`."""
    return "{{" + name + "}}"


def used_placeholders(text: str) -> list[str]:
    """The names a text uses, in order of first use."""
    seen: dict[str, None] = {}
    for match in PLACEHOLDER_RE.finditer(text or ""):
        seen.setdefault(match.group(1), None)
    return list(seen)


def validate_placeholders(text: str, known: Mapping[str, object] = PLACEHOLDERS) -> None:
    """Refuse a text with an unknown placeholder, or a `{{` that is never closed, naming it."""
    unknown = [name for name in used_placeholders(text) if name not in known]
    errors = [
        _("Unknown placeholder “%(name)s”. Use one of: %(known)s.")
        % {"name": as_code(name), "known": ", ".join(map(as_code, known))}
        for name in unknown
    ]
    if "{{" in PLACEHOLDER_RE.sub("", text or ""):
        errors.append(_("A placeholder opened with “{{” is not closed with “}}”."))
    if errors:
        raise ValidationError(errors, code="placeholder")


def render(text: str, values: Mapping[str, str], known: Mapping[str, object] = PLACEHOLDERS) -> str:
    """The text with each known placeholder replaced by its value (empty when the ticket has
    none, e.g. no contact); anything else stays as written."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return values.get(name, "") if name in known else match.group(0)

    return PLACEHOLDER_RE.sub(value, text or "")
