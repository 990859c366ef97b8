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
from email.utils import getaddresses

from confer.i18n import N_, _
from confer.validate import email_problem

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
ANGLE_ADDRESS = re.compile(r"^([^<>]*)<([^<>]*)>$")
SEPARATORS = ",;\n\r\t"


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
    return email_problem(value) is None


def _entries(text: str) -> list[str]:
    """Split pasted text into entries at commas, semicolons, tabs and line ends, but not
    inside "quoted names" or <addresses>; then join a piece with no @ to the <address>
    after it: Outlook writes `Surname, Forename <forename.surname@x.gov.uk>` unquoted."""
    pieces: list[str] = []
    current: list[str] = []
    quoted = angle = False
    for ch in text:
        if ch == '"' and not angle:
            quoted = not quoted
        elif ch == "<" and not quoted:
            angle = True
        elif ch == ">" and not quoted:
            angle = False
        elif ch in SEPARATORS and not quoted and not angle:
            pieces.append("".join(current))
            current = []
            continue
        current.append(ch)
    pieces.append("".join(current))
    entries: list[str] = []
    pending = ""
    for piece in (clean(p) for p in pieces):
        if not piece:
            continue
        if pending:
            if "<" in piece and "@" not in piece.split("<", 1)[0]:
                piece = f"{pending}, {piece}"
            else:
                entries.append(pending)
            pending = ""
        if "@" not in piece and "<" not in piece and '"' not in piece:
            pending = piece  # a name whose <address> may follow
            continue
        entries.append(piece)
    if pending:
        entries.append(pending)
    return entries


def _read_entry(entry: str) -> list[tuple[str, str, str]] | None:
    """(name, address, as typed) for each address in one entry, by the standard library's
    parser (email.utils.getaddresses); None when it cannot be read as addresses."""
    m = ANGLE_ADDRESS.match(entry)
    if m is not None:
        parsed = getaddresses([entry])
        if len(parsed) == 1 and parsed[0][1]:
            name, address = parsed[0]
        else:  # a display name with unquoted commas: everything before the <address>
            name, address = m.group(1), m.group(2)
        name = clean(name).strip("\"'").strip()
        return [(name, _unquote_cell(address), entry)]
    if '"' in entry or "<" in entry or ">" in entry:
        return None
    # Addresses separated by spaces only: "x@y.org z@w.org".
    out = []
    for word in entry.split(" "):
        parsed = getaddresses([word])
        address = parsed[0][1] if len(parsed) == 1 and not parsed[0][0] else ""
        out.append(("", _unquote_cell(address or word), word))
    return out


def parse_pasted(text: str) -> tuple[list[Invitee], list[Problem]]:
    """Addresses separated by commas, semicolons, new lines or spaces; each may be written
    as `Jane Smith <jane@example.org>`, `"Smith, Jane" <jane@example.org>` or, as Outlook
    copies them, `Smith, Jane <jane@example.org>; Jones, Bob <bob@example.org>`. Each
    address is checked by email-validator; a bad one is a Problem with its reason (already
    translated) and never stops the good ones."""
    found: list[Invitee] = []
    problems: list[Problem] = []
    for entry in _entries(text.translate(INVISIBLE)):
        read = _read_entry(entry)
        if read is None:
            reason = email_problem(entry) or N_("is not an email address")
            problems.append(Problem(entry, entry, _(reason), "format"))
            continue
        for name, email, typed in read:
            problem = email_problem(email)
            if problem is not None:
                problems.append(Problem(typed, typed, _(problem), "format"))
            elif len(name) > MAX_NAME:
                reason = _("the name is longer than %(max)d characters") % {"max": MAX_NAME}
                problems.append(Problem(typed, typed, reason, "name"))
            else:
                found.append(Invitee(email, name, None, typed))
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
