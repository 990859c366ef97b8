"""Reading the people to invite: addresses pasted into a box, or a CSV file (name, email,
role; header optional) as spreadsheets save them.

Pure functions, no I/O: they return what they could read and a problem for each part they
could not, so that one bad row never loses the good ones.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from confer.i18n import _
from confer.validate import EMAIL_RE

ROLES = ("participant", "speaker", "facilitator", "organiser", "observer")
ROLE_WORDS = {
    **{r: r for r in ROLES},
    **{r + "s": r for r in ROLES},
    "organizer": "organiser",
    "attendee": "participant",
    "delegate": "participant",
    "moderator": "facilitator",
    "panellist": "speaker",
    "panelist": "speaker",
}
HEADER_WORDS = {
    "email": "email",
    "e-mail": "email",
    "email address": "email",
    "e-mail address": "email",
    "emailaddress": "email",
    "mail": "email",
    "name": "name",
    "full name": "name",
    "display name": "name",
    "role": "role",
}
MAX_NAME = 100
# Invisible characters that copying from documents and spreadsheets brings along.
INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060"), None) | {0xA0: " "}
NAMED_ADDRESS = re.compile(r"^(.*?)<([^<>]*)>$")


@dataclass(frozen=True)
class Invitee:
    email: str
    name: str
    role: str | None  # None: the role chosen on the form
    where: str  # "line 4" for a CSV row, the address as typed for pasted text


@dataclass(frozen=True)
class Problem:
    """What could not be invited. `reason` reads after "`where` (`text`):" or after the
    address; `code` names it for a page that words the whole sentence itself."""

    where: str
    text: str
    reason: str
    code: str = ""


def clean(value: str) -> str:
    return " ".join(value.translate(INVISIBLE).split())


def _unquote_cell(value: str) -> str:
    """Spreadsheet quirks: ="text" (Excel's keep-as-text formula), a leading apostrophe,
    mailto: links."""
    v = clean(value)
    if v.startswith('="') and v.endswith('"'):
        v = v[2:-1]
    v = v.lstrip("'")
    if v.lower().startswith("mailto:"):
        v = v[7:]
    return v.strip()


def valid_email(value: str) -> bool:
    return len(value) <= 254 and EMAIL_RE.match(value) is not None


def parse_pasted(text: str) -> tuple[list[Invitee], list[Problem]]:
    """Addresses separated by commas, semicolons, new lines or spaces; each may be written
    as `Jane Smith <jane@example.org>`, as email programs copy them."""
    found: list[Invitee] = []
    problems: list[Problem] = []
    for chunk in re.split(r"[,;\n\r\t]+", text.translate(INVISIBLE)):
        entry = clean(chunk)
        if not entry:
            continue
        m = NAMED_ADDRESS.match(entry)
        if m:
            pieces = [(clean(m.group(1)).strip("\"'"), _unquote_cell(m.group(2)), entry)]
        else:
            pieces = [("", _unquote_cell(word), word) for word in entry.split(" ")]
        for name, email, typed in pieces:
            if valid_email(email) and len(name) <= MAX_NAME:
                found.append(Invitee(email, name, None, typed))
            else:
                problems.append(Problem(typed, typed, _("is not an email address")))
    return found, problems


def decode(data: bytes) -> str:
    """UTF-8 (with or without Excel's byte-order mark), else Windows-1252: what Excel
    saves as "CSV" on a Windows computer in the UK."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _delimiter(text: str) -> str:
    """Comma, or the semicolon or tab some spreadsheets use, judged by the first line."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse_csv(data: bytes | str) -> tuple[list[Invitee], list[Problem]]:
    """Rows of name, email, role. A header row (naming email, name, role in any order) is
    optional; without one a row is `email`, `name, email` or `name, email, role`."""
    text = decode(data) if isinstance(data, bytes) else data
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    if lines and lines[0].strip().lower().startswith("sep="):  # Excel's delimiter hint
        delimiter = lines[0].strip()[4:5] or ","
        offset = 1
        text = "\n".join(lines[1:])
    else:
        delimiter = _delimiter(text)
        offset = 0
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    columns: dict[str, int] | None = None
    found: list[Invitee] = []
    problems: list[Problem] = []
    try:
        for row in reader:
            line = _("line %(num)d") % {"num": reader.line_num + offset}
            cells = [_unquote_cell(c) for c in row]
            while cells and not cells[-1]:  # Excel pads rows with empty columns
                cells.pop()
            if not cells:
                continue
            if columns is None and not found and not problems:
                header = {HEADER_WORDS.get(c.lower()): i for i, c in enumerate(cells)}
                if "email" in header:
                    columns = {k: v for k, v in header.items() if k is not None}
                    continue
            invitee = _row(cells, columns, line, problems)
            if invitee is not None:
                found.append(invitee)
    except csv.Error as e:
        problems.append(
            Problem(
                _("line %(num)d") % {"num": reader.line_num + offset},
                "",
                _("cannot be read: %(error)s") % {"error": e},
            )
        )
    return found, problems


def _row(
    cells: list[str], columns: dict[str, int] | None, line: str, problems: list[Problem]
) -> Invitee | None:
    def cell(name: str) -> str:
        if columns is not None:
            i = columns.get(name)
            return cells[i] if i is not None and i < len(cells) else ""
        layout = {1: {"email": 0}, 2: {"name": 0, "email": 1}}.get(
            len(cells), {"name": 0, "email": 1, "role": 2}
        )
        i = layout.get(name)
        return cells[i] if i is not None else ""

    email, name, role_text = cell("email"), cell("name"), cell("role")
    shown = ", ".join(cells)
    if not email:
        problems.append(Problem(line, shown, _("has no email address")))
        return None
    if not valid_email(email):
        problems.append(
            Problem(line, shown, _("“%(email)s” is not an email address") % {"email": email})
        )
        return None
    if len(name) > MAX_NAME:
        problems.append(
            Problem(
                line,
                shown,
                _("the name is longer than %(max)d characters") % {"max": MAX_NAME},
            )
        )
        return None
    role = None
    if role_text:
        role = ROLE_WORDS.get(role_text.lower())
        if role is None:
            problems.append(
                Problem(
                    line,
                    shown,
                    _(
                        "“%(role)s” is not a role: use participant, speaker, facilitator, "
                        "organiser or observer"
                    )
                    % {"role": role_text},
                )
            )
            return None
    return Invitee(email, name, role, line)
