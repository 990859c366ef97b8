"""Server-rendered bar charts: accessible SVG strings, with no script and no styles.

The page's Content-Security-Policy has `style-src 'self'`, so nothing here uses a style
attribute or a <style> element: colours and fonts are SVG presentation attributes (fill=,
font-size=), which the policy does not cover. Every piece of text — titles, labels, numbers,
ids — goes through html.escape, so a session or thread title cannot break out of the markup;
that is what lets the template mark the result safe.

Each chart is an <svg role="img"> named by its <title> and described by a <desc> that
summarises the data in words (total, highest value, and every value when there are few).
The page puts the full data table right after each chart.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from html import escape

from confer.i18n import _, ngettext

BAR = "#1d70b8"  # GOV.UK blue
INK = "#0b0c0c"  # GOV.UK text colour
RULE = "#b1b4b6"  # GOV.UK mid grey
FONT = "Arial, Helvetica, sans-serif"

WIDTH = 640
LIST_ALL_UP_TO = 12  # the <desc> names every value when there are this many or fewer
LABEL_CHARS = 30  # longer labels are shortened in the drawing (the table has them whole)


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _amount(value: float, unit: str, unit_one: str) -> str:
    return f"{_num(value)} {unit_one if value == 1 else unit}".rstrip()


Amount = Callable[[float], str]  # a number with its unit, in words: "3 posts"


def amount_of(forms: Callable[[int], str]) -> Amount:
    """An Amount from `forms`, a function giving the ngettext of a number whose placeholder
    is `%(num)s` (`lambda n: ngettext("%(num)s post", "%(num)s posts", n)`, so that the
    catalogues find the messages); the number is written as `_num` writes it."""

    def amount(value: float) -> str:
        n = int(value) if float(value).is_integer() else 2  # a fraction reads as plural
        return forms(n) % {"num": _num(value)}

    return amount


def _shorten(label: str, limit: int = LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "chart"


def describe(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    unit: str = "",
    unit_one: str = "",
    *,
    amount: Amount | None = None,
) -> str:
    """The chart in words, in the current language: what a sighted reader would take from it.
    `amount` writes a number with its unit ("3 posts"); without it, `unit`/`unit_one`."""
    if amount is None:
        amount = lambda value: _amount(value, unit, unit_one)  # noqa: E731
    if not values:
        return _("%(title)s: nothing to show yet.") % {"title": title}
    n = len(values)
    total = sum(values)
    if total == 0:
        return ngettext(
            "%(title)s: none yet; the %(num)d bar is 0.",
            "%(title)s: none yet; every one of the %(num)d bars is 0.",
            n,
        ) % {"title": title, "num": n}
    top = max(values)
    leaders = [label for label, v in zip(labels, values, strict=True) if v == top]
    parts = [
        ngettext(
            "%(title)s: %(num)d bar, %(total)s in all.",
            "%(title)s: %(num)d bars, %(total)s in all.",
            n,
        )
        % {"title": title, "num": n, "total": amount(total)},
        _("Highest: %(labels)s, with %(amount)s.")
        % {"labels": ", ".join(leaders), "amount": amount(top)},
    ]
    if n <= LIST_ALL_UP_TO:
        each = "; ".join(f"{label}: {_num(v)}" for label, v in zip(labels, values, strict=True))
        parts.append(_("Values: %(values)s.") % {"values": each})
    parts.append(_("The table after the chart gives every value."))
    return " ".join(parts)


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    unit: str = "",
    unit_one: str | None = None,
    amount: Amount | None = None,
    axis_labels: Sequence[str] | None = None,
    horizontal: bool = False,
    chart_id: str | None = None,
) -> str:
    """An accessible SVG bar chart, as a string of markup built only from escaped text.

    `labels` name the bars in the text alternative; `axis_labels` (default: `labels`) are
    what is drawn, for when the full names are too long to fit under a column.
    `horizontal` draws one row per bar, for long names such as session titles.
    `amount` writes a number with its unit in the current language (`amount_of`); `unit` and
    `unit_one` are the plain English alternative.
    """
    if len(labels) != len(values):
        raise ValueError("labels and values differ in length")
    if any(v < 0 for v in values):
        raise ValueError("bar charts here show counts: no negative values")
    unit_one = unit_one if unit_one is not None else unit.removesuffix("s")
    drawn = list(axis_labels) if axis_labels is not None else list(labels)
    if len(drawn) != len(values):
        raise ValueError("axis_labels and values differ in length")
    ident = _slug(chart_id or title)
    top = max(values, default=0) or 1
    body, height = (_rows if horizontal else _columns)(drawn, values, top)
    desc = describe(title, labels, values, unit, unit_one, amount=amount)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="confer-chart__svg" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{_e(ident)}-title" aria-describedby="{_e(ident)}-desc" '
        f'font-family="{_e(FONT)}" font-size="14" fill="{INK}">'
        f'<title id="{_e(ident)}-title">{_e(title)}</title>'
        f'<desc id="{_e(ident)}-desc">{_e(desc)}</desc>'
        f"{body}</svg>"
    )


def _rows(labels: list[str], values: Sequence[float], top: float) -> tuple[str, int]:
    """One horizontal bar per row: the label on the left, the value after the bar."""
    row, pad, label_w, value_w = 28, 10, 230, 60
    bar_x = label_w + 10
    span = WIDTH - bar_x - value_w
    height = pad * 2 + row * max(len(values), 1)
    parts = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = pad + i * row
        w = round(span * value / top, 1)
        mid = y + row / 2
        parts.append(
            f'<text x="{label_w}" y="{mid:.1f}" text-anchor="end" dominant-baseline="middle">'
            f"{_e(_shorten(label))}</text>"
            f'<rect x="{bar_x}" y="{y + 4}" width="{w}" height="{row - 8}" fill="{BAR}"/>'
            f'<text x="{bar_x + w + 6:.1f}" y="{mid:.1f}" dominant-baseline="middle">'
            f"{_e(_num(value))}</text>"
        )
    parts.append(f'<line x1="{bar_x}" y1="{pad}" x2="{bar_x}" y2="{height - pad}" stroke="{INK}"/>')
    return "".join(parts), height


def _columns(labels: list[str], values: Sequence[float], top: float) -> tuple[str, int]:
    """One vertical bar per column: the value above it, its label below the baseline."""
    height, pad_top, pad_x, label_h = 260, 24, 10, 40
    base = height - label_h
    n = max(len(values), 1)
    slot = (WIDTH - pad_x * 2) / n
    bar_w = max(slot * 0.7, 1)
    font = 12 if slot >= 40 else 11
    # Label every bar when the labels fit, otherwise every k-th (the table names them all).
    longest = min(max((len(label) for label in labels), default=1), LABEL_CHARS)
    every = max(1, math.ceil((longest * 7 + 6) / slot))
    show_values = slot >= 18
    parts = [f'<line x1="{pad_x}" y1="{base}" x2="{WIDTH - pad_x}" y2="{base}" stroke="{INK}"/>']
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = pad_x + i * slot + (slot - bar_w) / 2
        h = round((base - pad_top) * value / top, 1)
        cx = x + bar_w / 2
        parts.append(
            f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" height="{h}" fill="{BAR}"/>'
        )
        if show_values:
            parts.append(
                f'<text x="{cx:.1f}" y="{base - h - 5:.1f}" text-anchor="middle" '
                f'font-size="{font}">{_e(_num(value))}</text>'
            )
        if i % every == 0:
            parts.append(
                f'<text x="{cx:.1f}" y="{base + 18}" text-anchor="middle" font-size="{font}">'
                f"{_e(_shorten(label, max(int(slot * every / 7), 3)))}</text>"
            )
    parts.append(f'<line x1="{pad_x}" y1="{pad_top}" x2="{pad_x}" y2="{base}" stroke="{RULE}"/>')
    return "".join(parts), height
