"""One layout for every email Confer sends: plain text plus a matching, simple HTML part.

    from confer import i18n
    from confer.i18n import _
    from confer.mail import outbox, render

    with i18n.using(user["language"]):  # the recipient's language, not the sender's
        email = render.compose(
            settings,
            subject=_("You are invited to %(title)s") % {"title": title},
            to_name=user["name"],
            paragraphs=[_("%(name)s has invited you to ...") % {"name": inviter}, ...],
            action=render.Action(_("Accept the invitation"), url),
            after=[render.link_expiry(expires_at, seconds=7 * 86400)],
            reason=_("You are getting this email because an organiser invited you."),
        )
    await outbox.enqueue(con, kind="invitation", to=address, to_name=user["name"], **email.parts())

`compose` MUST be called inside `i18n.using(recipient's language)`, and the subject,
paragraphs and action built inside the same block: the layout's own words (the greeting
"Hello Jane,", the sign-off, the footer, the button's fallback line), `duration()` and
`link_expiry()` are written in the current language, and the HTML part's `lang` is its.
The recipient's language is their account's (`users.language`); when that is NULL, the
caller decides (the language of the request that caused the email, else English).

Paragraphs are plain text, never HTML: the HTML part escapes them (and makes Confer's own web
addresses into links), so user-written text (a conference title, a name) is safe to pass in.

Only Confer's own addresses are ever links. Everything else that looks like a web address
(`https://…`, `www.…`, `council-it.example`) — in practice always text a member wrote, such
as a display name "Council IT: re-verify at https://…" — is made inert in the subject and
both parts before they are laid out (`inert`): a WORD JOINER (U+2060, invisible, zero
width) goes after its `:` and each `.`, so neither our HTML nor any mail client's
autolinker sees an address, while the reader sees the text as written. Doing it here, once,
covers every email and every field, including names stored before this rule.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup, escape

from confer import i18n, resources, timefmt
from confer.i18n import _, ngettext
from confer.settings import Settings

# Emails are not tied to a conference; Confer serves UK councils, so UK time, zone named.
EMAIL_TIMEZONE = "Europe/London"
WRAP = 72

URL_RE = re.compile(r"https?://[^\s<>\"']+")
TRAILING = ".,;:!?)]}'\""
JOINER = "\u2060"  # WORD JOINER: invisible, and it breaks every autolinker's pattern
# Anything with a scheme, and bare host names (`www.x.org`, `council-it.example`); an
# address's domain (`pat@example.org`) is left alone: it is not a web link.
_ANY_URL_RE = re.compile(r"(?i)\b[a-z][a-z0-9+.\-]*:/{1,3}[^\s<>\"']*")
_HOST_RE = re.compile(
    r"(?i)(?<![\w@.\-])(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+[a-z][a-z0-9\-]*[a-z0-9](?![\w@\-])"
)


@dataclass(frozen=True)
class Action:
    """The one thing the email asks the reader to do: a button in HTML, a line in text."""

    label: str
    url: str


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str

    def parts(self) -> dict[str, str]:
        """The keyword arguments `outbox.enqueue` takes for the content."""
        return {"subject": self.subject, "text": self.text, "html": self.html}


def site_name(settings: Settings) -> str:
    """The name emails sign with: MAIL_FROM's display name ("Confer" by default)."""
    name, _ = parseaddr(settings.mail_from)
    return name.strip() or "Confer"


def duration(seconds: int) -> str:
    """'1 hour', '15 minutes', '7 days' (in the current language, with its plural forms)."""
    if seconds >= 86400 and seconds % 86400 == 0:
        n = seconds // 86400
        return ngettext("%(num)d day", "%(num)d days", n) % {"num": n}
    if seconds >= 3600 and seconds % 3600 == 0:
        n = seconds // 3600
        return ngettext("%(num)d hour", "%(num)d hours", n) % {"num": n}
    n = max(1, round(seconds / 60))
    return ngettext("%(num)d minute", "%(num)d minutes", n) % {"num": n}


def link_expiry(expires_at: datetime, *, seconds: int, once: bool = True) -> str:
    """'The link works once and expires in 1 hour, at 16:05 GMT on Tuesday 24 November 2026.'
    (in the current language)."""
    values = {
        "duration": duration(seconds),
        "time": timefmt.clock(expires_at, EMAIL_TIMEZONE),
        "day": timefmt.day(expires_at, EMAIL_TIMEZONE),
    }
    if once:
        return _("The link works once and expires in %(duration)s, at %(time)s on %(day)s.") % (
            values
        )
    return _("The link expires in %(duration)s, at %(time)s on %(day)s.") % values


def _split_url(match: str) -> tuple[str, str]:
    url = match.rstrip(TRAILING)
    # Keep a closing bracket that belongs to the address, as in a Wikipedia link.
    while match[len(url) : len(url) + 1] == ")" and url.count("(") > url.count(")"):
        url += ")"
    return url, match[len(url) :]


def linkify(text: str, *, link_class: str = "") -> Markup:
    """Escape plain text and make its http(s) addresses into links; newlines become <br>."""
    out: list[str] = []
    pos = 0
    cls = f' class="{escape(link_class)}"' if link_class else ""
    for m in URL_RE.finditer(text):
        url, rest = _split_url(m.group(0))
        out.append(str(escape(text[pos : m.start()])))
        out.append(f'<a{cls} href="{escape(url)}">{escape(url)}</a>{escape(rest)}')
        pos = m.end()
    out.append(str(escape(text[pos:])))
    # Every piece above was escaped on its own.
    return Markup("".join(out).replace("\n", "<br>\n"))  # noqa: S704


def _own(url: str, base_url: str) -> bool:
    base = base_url.rstrip("/")
    return url == base or url.startswith((base + "/", base + "?", base + "#"))


def _defuse(text: str) -> str:
    return text.replace(":", ":" + JOINER).replace(".", "." + JOINER)


def inert(text: str, base_url: str) -> str:
    """`text` with every web address that is not Confer's own (under `base_url`) made
    unlinkable: a word joiner after its `:` and dots. It reads the same."""

    def hosts(part: str) -> str:
        return _HOST_RE.sub(lambda h: h.group(0).replace(".", "." + JOINER), part)

    out: list[str] = []
    pos = 0
    for m in _ANY_URL_RE.finditer(text):
        out.append(hosts(text[pos : m.start()]))
        url, _ = _split_url(m.group(0))
        out.append(m.group(0) if _own(url, base_url) else _defuse(m.group(0)))
        pos = m.end()
    out.append(hosts(text[pos:]))
    return "".join(out)


def _wrap(text: str) -> str:
    """Wrap at 72 characters, never breaking a web address or a word."""
    lines = []
    for line in text.splitlines() or [""]:
        lines.append(
            textwrap.fill(line, WRAP, break_long_words=False, break_on_hyphens=False) or ""
        )
    return "\n".join(lines)


def _environment(*, html: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(resources.path("templates") / "mail"),
        autoescape=html,  # noqa: S701 (the plain-text part is not HTML: nothing to escape)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    i18n.install_gettext(env)  # in the recipient's language: compose inside i18n.using(...)
    env.filters["wrap"] = _wrap
    env.filters["linkify"] = linkify
    return env


_TEXT = _environment(html=False)
_HTML = _environment(html=True)


def compose(
    settings: Settings,
    *,
    subject: str,
    to_name: str = "",
    paragraphs: Sequence[str] = (),
    action: Action | None = None,
    after: Sequence[str] = (),
    reason: str = "",
    signoff: str | None = None,
) -> Email:
    """Lay an email out: greeting, paragraphs, the action, what follows, sign-off, footer.

    `reason` says why the reader is getting the email (shown small in the footer). Call it
    inside `i18n.using(recipient's language)`: the layout's words are in the current language.
    """
    site = site_name(settings)

    def safe(text: str) -> str:
        return inert(text, settings.base_url)

    context = {
        "subject": safe(" ".join(subject.split())),
        "greeting": safe(_("Hello %(name)s,") % {"name": to_name})
        if to_name.strip()
        else _("Hello,"),
        "paragraphs": [safe(p) for p in paragraphs],
        "action": action,
        "after": [safe(p) for p in after],
        "signoff": safe(signoff)
        if signoff is not None
        else _("From the %(site)s team") % {"site": site},
        "site": site,
        "base_url": settings.base_url,
        "site_host": urlsplit(settings.base_url).hostname or settings.base_url,
        "reason": safe(reason),
    }
    return Email(
        subject=context["subject"],
        text=_TEXT.get_template("layout.txt").render(context),
        html=_HTML.get_template("layout.html").render(context),
    )
