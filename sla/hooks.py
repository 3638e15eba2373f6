"""Where the SLA app joins the apps below it (at start-up, from `SlaConfig.ready`): the
pipeline's "sla" slot (TKT-09) and the blueprint engine's state visits (BP-15), both through
registries, so neither tickets nor blueprints imports sla."""

from __future__ import annotations


def connect() -> None:
    """Register the SLA steps into the registries below (idempotent)."""
