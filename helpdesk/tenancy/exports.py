"""Sections of a user's data export contributed by the apps above tenancy (ORG-06).

Tenancy is the bottom layer and imports no app above it, yet the export must cover what
every app holds about the user (tickets they wrote, contacts they own ...). Each app registers
a section once, from its `AppConfig.ready()`; `member_export` calls every section with the
organization and the user. A registry, not an upward import (ARCHITECTURE.md, Layers).
"""

from __future__ import annotations

from typing import Any, Protocol

from .models import Organization, User


class ExportSection(Protocol):
    def __call__(self, *, org: Organization, user: User) -> Any:
        """JSON-ready data `org` holds about `user`; reads only `org`'s rows."""


_sections: dict[str, ExportSection] = {}


def export_section_register(name: str, section: ExportSection) -> None:
    """Add `section` under the key `name` of every export. Registering the same name again
    replaces it (ready() may run twice in tests); two apps may not share a name."""
    existing = _sections.get(name)
    if existing is not None and existing.__module__ != section.__module__:
        raise ValueError(f"export section {name!r} is already registered by {existing.__module__}")
    _sections[name] = section


def export_sections() -> dict[str, ExportSection]:
    return dict(_sections)
