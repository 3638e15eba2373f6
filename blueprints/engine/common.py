"""What the engine's modules share: the tickets being moved, the race's exception."""

from __future__ import annotations

import contextvars
import logging

from django.core.exceptions import ValidationError

log = logging.getLogger(__name__)

# Tickets whose status the engine is moving (the pipeline step leaves them alone).
_moving: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar(
    "blueprint_moving", default=frozenset()
)


class TransitionConflict(ValidationError):
    """The ticket is no longer where the member saw it (another member completed a transition
    first, or the transition was removed): the loser of a race."""
