"""The help center's colours (TKT-08): a validated hex colour, and the colours that keep text
readable on it and links readable on white (WCAG 2.1 AA: contrast of at least 4.5:1).
Pure functions, no Django."""

from __future__ import annotations

import re
from dataclasses import dataclass

HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
WHITE, BLACK = "#ffffff", "#000000"
AA = 4.5


def is_hex(value: str) -> bool:
    return bool(HEX.match(value or ""))


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(color: str) -> float:
    """Relative luminance (WCAG 2.1) of `#rrggbb`."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_on(background: str) -> str:
    """White or black, whichever contrasts more with `background`."""
    return WHITE if contrast(background, WHITE) >= contrast(background, BLACK) else BLACK


def _darken(color: str, factor: float) -> str:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return "#{:02x}{:02x}{:02x}".format(*(max(0, int(v * factor)) for v in (r, g, b)))


def link_color(color: str, background: str = WHITE) -> str:
    """`color`, darkened step by step until it reads at AA on `background` (links and focus
    rings use it; a pale brand colour still gives readable links)."""
    current = color.lower()
    factor = 1.0
    while contrast(current, background) < AA and factor > 0:
        factor -= 0.05
        current = _darken(color.lower(), factor)
    return current


@dataclass(frozen=True)
class Theme:
    primary: str  # buttons and the header's background
    on_primary: str  # text on them
    link: str  # links and accents on the white page

    def css(self) -> str:
        """The custom properties, for the page's nonce'd <style>. Only validated hex values
        reach here, so nothing a person typed can break out of the declaration."""
        for value in (self.primary, self.on_primary, self.link):
            if not is_hex(value):
                raise ValueError(value)
        return (
            f":root{{--hc-primary:{self.primary};--hc-on-primary:{self.on_primary};"
            f"--hc-link:{self.link};}}"
        )


def theme_for(color: str, default: str) -> Theme:
    primary = (color if is_hex(color) else default).lower()
    return Theme(primary=primary, on_primary=readable_on(primary), link=link_color(primary))
