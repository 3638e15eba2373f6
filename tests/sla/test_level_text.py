"""Issue 12 item 1: the editor's state panel (and the blueprint's states table) lists the
state SLA's escalation levels in words: when each fires and whom it mails."""

from __future__ import annotations

from sla.models import EscalationLevel
from sla.summaries import level_text


def test_bp15_levels_in_words_say_when_and_whom():
    assert (
        level_text(EscalationLevel(level=1, when="at", offset_minutes=0, notify_owner=True))
        == "Level 1: at the due time, mails the ticket's owner"
    )
    before = EscalationLevel(
        level=2, when="before", offset_minutes=30, notify_manager=True, roles=["admin"]
    )
    assert level_text(before, people=2, teams=1) == (
        "Level 2: 30 minutes before the due time, mails the owner's manager, Admin, 2 people,"
        " 1 team"
    )
    after = EscalationLevel(level=3, when="after", offset_minutes=90)
    assert (
        level_text(after, people=1)
        == "Level 3: 1 hour 30 minutes after the due time, mails 1 person"
    )
    assert level_text(EscalationLevel(level=1, when="after", offset_minutes=60)) == (
        "Level 1: 1 hour after the due time, mails nobody yet"
    )
