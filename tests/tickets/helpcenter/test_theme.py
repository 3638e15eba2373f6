"""TKT-08: whatever colour an admin picks, the help center's text stays readable (WCAG AA,
4.5:1): the text on the colour, and links in that colour on the white page."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk.tickets.helpcenter.theme import AA, WHITE, contrast, is_hex, theme_for

colours = st.integers(min_value=0, max_value=0xFFFFFF).map(lambda n: f"#{n:06x}")


@given(colours)
def test_tkt08_any_colour_gives_readable_text_and_links(colour):
    theme = theme_for(colour, "#0f766e")
    assert theme.primary == colour
    assert contrast(theme.primary, theme.on_primary) >= AA
    assert contrast(theme.link, WHITE) >= AA
    assert f"--hc-primary:{colour};" in theme.css()


@pytest.mark.parametrize("value", ["red", "#fff", "#12345g", "#0f766e;}", "", "#0F766E0"])
def test_tkt08_only_six_digit_hex_is_a_colour(value):
    assert not is_hex(value)
    assert theme_for(value, "#0f766e").primary == "#0f766e"
