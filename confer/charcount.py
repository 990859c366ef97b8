"""GOV.UK's character count (govuk-frontend's CharacterCount) in the reader's language.

The component counts as the member types and writes "You have 120 characters remaining" from
messages it is given as `data-i18n.*` attributes, one per plural category of the page's
language (`%{count}` is its placeholder). Here those messages come from the catalogues, each
plural form taken from ngettext at a number of its category (Welsh has six).
"""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup

from confer import i18n
from confer.i18n import _, ngettext

_PLACEHOLDER = {"count": "%{count}"}


def _forms(message: Callable[[int], str]) -> dict[str, str]:
    """{plural category: the message (`message(n)`, an ngettext call) with govuk-frontend's
    placeholder}, for the page's language."""
    rule = i18n.babel_locale().plural_form
    forms: dict[str, str] = {}
    for n in range(0, 110):
        tag = rule(n)
        if tag not in forms:
            forms[tag] = message(n) % _PLACEHOLDER
    return forms


def character_count_i18n() -> Markup:
    """The data-i18n attributes of a `govuk-character-count` block."""
    attrs: list[tuple[str, str]] = []
    under = _forms(
        lambda n: ngettext(
            "You have %(count)s character remaining", "You have %(count)s characters remaining", n
        )
    )
    over = _forms(
        lambda n: ngettext(
            "You have %(count)s character too many", "You have %(count)s characters too many", n
        )
    )
    attrs += [(f"characters-under-limit.{tag}", text) for tag, text in under.items()]
    attrs.append(("characters-at-limit", _("You have 0 characters remaining")))
    attrs += [(f"characters-over-limit.{tag}", text) for tag, text in over.items()]
    return Markup(" ").join(Markup('data-i18n.{}="{}"').format(name, text) for name, text in attrs)
