"""Cymraeg and English: the catalogues, the language of the current request, and gettext.

Every sentence Confer writes goes through gettext, in templates (`{% trans %}`, `_()`), in
Python (`_`, `ngettext`, `pgettext`) and in confer.js (handed its messages by the page):

    from confer.i18n import _, ngettext, N_

    raise Invalid(_("Enter a title"), fields={"title": _("Enter a title")})
    ngettext("%(num)d post", "%(num)d posts", n) % {"num": n}
    TITLES = {"draft": N_("Draft")}   # marked for the catalogues, translated where shown

Whole sentences with named placeholders (`%(name)s`), never sentences glued from pieces:
Welsh word order and mutations differ. Welsh has six plural forms (0, 1, 2, 3, 6, other).

The language is a context variable: the language middleware sets it for each request (the
reader's choice, then their account's, then Accept-Language), a socket sets it for each event
from its member's account, and an email is written inside `using(recipient's language)`.
Services read it implicitly through `_()`; nothing passes a language around.

The catalogues are `confer/locale/<lang>/LC_MESSAGES/messages.po`, read when first needed (no
compiled `.mo` to fall out of date). docs/translating.md is the translators' guide.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import resources
from io import BytesIO
from pathlib import Path
from typing import Any

import jinja2
from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

DEFAULT = "en"
# The languages a reader can choose, with each one's name in itself (the switch shows the
# other one's name, in its own language: "Cymraeg" on an English page, "English" on a Welsh).
LANGUAGES: dict[str, str] = {"en": "English", "cy": "Cymraeg"}
# The pseudo-locale: every message accented and wrapped in ⟦ ⟧, so that any text on a page
# that did not pass through the catalogues stands out (tests/browser/test_pseudo_locale.py).
# Offered only when the PSEUDO_LOCALE setting is on.
PSEUDO = "qps"
# The `lang` attribute of each language: GOV.UK's pages say en-GB and cy.
HTML_LANG: dict[str, str] = {"en": "en-GB", "cy": "cy", PSEUDO: "en-GB"}
COOKIE = "confer_lang"
JS_SOURCE = "static/confer.js"  # its messages are handed to the page (js_messages)

_current: ContextVar[str] = ContextVar("confer_language", default=DEFAULT)


def _locale_dir() -> Path:
    return Path(str(resources.files("confer") / "locale"))


@dataclass(frozen=True)
class Catalogue:
    translations: NullTranslations
    js: dict[str, str | list[str]]  # confer.js's messages, translated


@functools.cache
def _catalogue(code: str) -> Catalogue:
    if code == PSEUDO:
        source = _catalogue(DEFAULT)
        pseudo = _Pseudo()
        js: dict[str, str | list[str]] = {}
        for msgid, text in source.js.items():
            js[msgid] = (
                [pseudo_text(t) for t in text] if isinstance(text, list) else (pseudo_text(text))
            )
        return Catalogue(pseudo, js)
    path = _locale_dir() / code / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return Catalogue(NullTranslations(), {})
    with path.open("rb") as f:
        catalog = read_po(f, locale=code)
    mo = BytesIO()
    write_mo(mo, catalog, use_fuzzy=False)
    mo.seek(0)
    translations = Translations(mo)
    js = {}
    for message in catalog:
        if not message.id or not any(loc == JS_SOURCE for loc, _ in message.locations):
            continue
        if message.pluralizable:
            singular, plural = message.id
            forms = message.string if any(message.string) else (singular, plural)
            js[singular] = [s or singular for s in forms]
        else:
            js[message.id] = message.string or message.id
    return Catalogue(translations, js)


def languages(*, pseudo: bool = False) -> tuple[str, ...]:
    return (*LANGUAGES, PSEUDO) if pseudo else tuple(LANGUAGES)


def lang() -> str:
    """The current language's code: "en", "cy" (or the pseudo-locale's)."""
    return _current.get()


def babel_locale(code: str | None = None) -> Locale:
    """The Babel locale for dates and numbers ("qps" reads as English)."""
    code = code or lang()
    return _babel_locale("en_GB" if code in ("en", PSEUDO) else code)


@functools.cache
def _babel_locale(code: str) -> Locale:
    return Locale.parse(code)


def html_lang(code: str | None = None) -> str:
    return HTML_LANG.get(code or lang(), "en-GB")


def set_language(code: str) -> None:
    """Make `code` the language of the running task (a request, a socket event)."""
    _current.set(code)


@contextlib.contextmanager
def using(code: str | None) -> Iterator[None]:
    """Write in `code` inside the block (an email in its recipient's language); None keeps the
    current language."""
    if code is None:
        yield
        return
    token = _current.set(code)
    try:
        yield
    finally:
        _current.reset(token)


def _t() -> NullTranslations:
    return _catalogue(_current.get()).translations


def gettext(message: str) -> str:
    return _t().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _t().ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return _t().pgettext(context, message)


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return _t().npgettext(context, singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Mark `message` for the catalogues without translating it now: a module-level table
    whose entries are translated where they are shown, with `_()`."""
    return message


def js_messages() -> dict[str, Any]:
    """What confer.js needs in the current language (see js_messages_for)."""
    return js_messages_for(lang())


def js_messages_for(code: str) -> dict[str, Any]:
    """What confer.js needs to write in the page's language: its messages (msgid → text, or
    the list of plural forms) and the order of the language's plural categories, which
    `Intl.PluralRules` names (Welsh: zero, one, two, few, many, other)."""
    locale = babel_locale(code)
    order = ("zero", "one", "two", "few", "many", "other")
    tags = [t for t in order if t in locale.plural_form.tags or t == "other"]
    return {
        "lang": html_lang(code),
        "plural": tags,
        "messages": _catalogue(code).js,
    }


def install_gettext(env: jinja2.Environment) -> None:
    """`{% trans %}`, `_()`, `ngettext()` and `pgettext()` in templates, in the language of the
    running request or email (confer.i18n). New-style: `_("Hello %(name)s", name=n)` formats
    and escapes; `{% trans %}` blocks are trimmed, as `pybabel extract` reads them."""
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext,
        ngettext,
        newstyle=True,
        pgettext=pgettext,
        npgettext=npgettext,
    )
    env.policies["ext.i18n.trimmed"] = True
    # The same behaviour as Jinja's new-style callables (escape, then always `% variables`,
    # `num` for plurals), called directly: Jinja's own go through two or three Context.call
    # layers per message (`_` → gettext alias → wrapper → ours), a thread page's ~60 messages
    # cost ~4% of its rendering that way.
    env.globals.update(
        _=_jinja_gettext,
        gettext=_jinja_gettext,
        ngettext=_jinja_ngettext,
        pgettext=_jinja_pgettext,
        npgettext=_jinja_npgettext,
    )
    env.globals["lang"] = lang
    env.globals["html_lang"] = html_lang
    env.globals["js_messages"] = js_messages_json
    env.globals["LANGUAGES"] = LANGUAGES
    env.globals["localized"] = localized
    env.globals["lang_attr"] = lang_attr


def _out(eval_ctx: Any, rv: str, variables: dict[str, Any]) -> str:
    if eval_ctx.autoescape:
        # A message is Confer's own text, from the catalogues (as trusted as a template): only
        # its variables are escaped, by Markup's %.
        rv = Markup(rv)  # noqa: S704
    return rv % variables  # always, as Jinja's new style: a literal % is written %%


@jinja2.pass_eval_context
def _jinja_gettext(eval_ctx: Any, string: str, **variables: Any) -> str:
    return _out(eval_ctx, _t().gettext(string), variables)


@jinja2.pass_eval_context
def _jinja_ngettext(eval_ctx: Any, singular: str, plural: str, num: int, **variables: Any) -> str:
    variables.setdefault("num", num)
    return _out(eval_ctx, _t().ngettext(singular, plural, num), variables)


@jinja2.pass_eval_context
def _jinja_pgettext(eval_ctx: Any, context: str, string: str, **variables: Any) -> str:
    variables.setdefault("context", context)
    return _out(eval_ctx, _t().pgettext(context, string), variables)


@jinja2.pass_eval_context
def _jinja_npgettext(
    eval_ctx: Any, context: str, singular: str, plural: str, num: int, **variables: Any
) -> str:
    variables.setdefault("context", context)
    variables.setdefault("num", num)
    return _out(eval_ctx, _t().npgettext(context, singular, plural, num), variables)


@functools.cache
def _js_messages_json(code: str) -> Markup:
    return htmlsafe_json_dumps(js_messages_for(code))  # < > & ' escaped: safe in <script>


def js_messages_json() -> Markup:
    """`js_messages()` as the page's JSON data block holds it (made once per language)."""
    return _js_messages_json(lang())


def negotiate(accept_language: str, available: tuple[str, ...] = tuple(LANGUAGES)) -> str | None:
    """The first of `available` that an Accept-Language header asks for, by its q values
    (`cy-GB,cy;q=0.9,en;q=0.8` → "cy"); None when it asks for none of them."""
    choices: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")):
        tag, _sep, params = part.strip().partition(";")
        tag = tag.strip().lower()
        q = 1.0
        for param in params.split(";"):
            name, _eq, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag and q > 0:
            choices.append((-q, i, tag))
    for _q, _i, tag in sorted(choices):
        primary = tag.split("-")[0]
        if primary in available:
            return primary
    return None


# --- the pseudo-locale ------------------------------------------------------------------

_ACCENTS = str.maketrans(
    "AaBCcDdEeGgHhIiKkLlNnOoRrSsTtUuWwYyZz",
    "ÅåƁĊçĐđÉéĞğĤĥÎîĶķĹĺÑñÖöŘřŠšŢţÛûŴŵÝýŽž",
)
# What must pass through untouched: placeholders, HTML tags and entities.
_KEEP = re.compile(r"%\([^)]*\)[#0\- +]*\d*(?:\.\d+)?[sdifr]|%%|%[sd]|<[^>]*>|&[#\w]+;|\{[^}]*\}")
PSEUDO_OPEN, PSEUDO_CLOSE = "⟦", "⟧"


def pseudo_text(text: str) -> str:
    """`text` accented and marked: "Sign in" → "⟦Šîğñ îñ⟧"; placeholders and tags kept."""
    out: list[str] = []
    pos = 0
    for m in _KEEP.finditer(text):
        out.append(text[pos : m.start()].translate(_ACCENTS))
        out.append(m.group(0))
        pos = m.end()
    out.append(text[pos:].translate(_ACCENTS))
    return PSEUDO_OPEN + "".join(out) + PSEUDO_CLOSE


class _Pseudo(NullTranslations):
    """Every message transformed on the way out, whether or not a catalogue holds it."""

    @functools.cache  # noqa: B019 (one instance, for the life of the process)
    def gettext(self, message: str) -> str:
        return pseudo_text(message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return self.gettext(msgid1 if n == 1 else msgid2)

    def pgettext(self, context: str, message: str) -> str:
        return self.gettext(message)

    def npgettext(self, context: str, msgid1: str, msgid2: str, n: int) -> str:
        return self.ngettext(msgid1, msgid2, n)


# --- bilingual conferences ----------------------------------------------------------------


class Localized(str):
    """A text of a bilingual conference in the reader's language where it has one, else in
    the language it was written in: a str that knows its `lang` (a template writes
    `lang="…"` on its element when that differs from the page's: `lang_attr`)."""

    lang: str

    def __new__(cls, text: str, lang: str) -> Localized:
        self = super().__new__(cls, text)
        self.lang = lang
        return self


def localized(
    row: Any, field: str, *, language: str | None = None, conference: Any = None
) -> Localized:
    """`row[field]` in the reader's language (`language`, else the current one): from the
    row's `translations` when its conference is bilingual and has that text, else the text
    as written, in the conference's `language`. `conference` is the row's conference when
    `row` is a session (whose own row has no language)."""
    owner = conference if conference is not None else row
    written = _get(owner, "language") or DEFAULT
    text = row[field]
    want = language or lang()
    if want == PSEUDO:
        want = DEFAULT
    if want != written and _get(owner, "bilingual"):
        other = (_get(row, "translations") or {}).get(want) or {}
        if other.get(field):
            return Localized(other[field], want)
    return Localized(text, written)


def _get(row: Any, key: str) -> Any:
    try:
        return row[key]
    except (KeyError, IndexError):
        return None


def lang_attr(text: Any) -> Markup:
    """` lang="cy"` when `text` (a Localized, or anything with a `lang`) is in another language
    than the page's; nothing otherwise."""
    code = getattr(text, "lang", None)
    if code is None or code == lang() or (code == DEFAULT and lang() == PSEUDO):
        return Markup("")
    return Markup(' lang="%s"') % html_lang(code)
