"""Accessibility checks in the browser tests with axe-core (vendored under vendor/axe-core,
MPL-2.0): `serious_violations(page)` runs axe on the page as it is and returns the violations
of impact "serious" or "critical" (WCAG 2 A/AA rules), each with its first nodes, for a test
to assert there are none.

The script is evaluated through the DevTools protocol, which the page's CSP does not govern,
so the check needs no exception in the policy."""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")

RUN = """async () => {
  const result = await window.axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    resultTypes: ["violations"],
  });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
  }));
}"""


def serious_violations(page) -> list[dict]:
    if not page.evaluate("() => Boolean(window.axe)"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    return [v for v in page.evaluate(RUN) if v["impact"] in SERIOUS]
