"""The participation report at 320 CSS pixels (issue #22, WCAG 1.4.10 reflow): nothing
overflows the viewport sideways; each wide table scrolls inside its own named, focusable
region, which a keyboard user can reach and scroll."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.helpers import SESSION_LOOP, Audits
from tests.browser.test_accessibility import site

pytestmark = [pytest.mark.browser, SESSION_LOOP]

OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width && (r.right > width + 0.5 || r.left < -0.5) && !el.closest(".confer-table-scroll")
        && !el.closest(".govuk-visually-hidden, .govuk-skip-link"))
      wide.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " " + Math.round(r.right));
  }
  return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 10)};
}"""


async def test_the_report_at_320_px_overflows_nothing_and_its_tables_scroll(world, new_page):
    s = await site(world)
    page = await new_page(user=s["organiser"])
    await page.set_viewport_size({"width": 320, "height": 640})
    response = await page.goto(f"/c/{s['slug']}/report")
    assert response is not None and response.status == 200
    found = await page.evaluate(OVERFLOW)
    assert found["scroll"] <= 320 and found["wide"] == [], found
    register = page.get_by_role("region", name="What each active member did")
    await expect(register).to_be_visible()
    assert await register.evaluate("el => el.scrollWidth > el.clientWidth")  # it does scroll
    await register.focus()
    await page.keyboard.press("ArrowRight")
    await expect(register).to_be_focused()
    # Scrolling by key may be smooth: wait for the region to have moved, not for a time.
    await page.wait_for_function("el => el.scrollLeft > 0", arg=await register.element_handle())
    audits = Audits()
    await audits.check(page, "report 320px")
    audits.assert_clean()
