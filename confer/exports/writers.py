"""Transcript writers: Markdown, self-contained HTML, CSV and JSON, each fed in programme
order (start, session, thread, post..., questions, appendix, end) and returning text chunks,
so that an export streams with flat memory."""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from confer import i18n, timefmt
from confer.i18n import N_, _, ngettext

Row = Mapping[str, Any]
FORMATS = {
    "md": "text/markdown",
    "html": "text/html",
    "csv": "text/csv",
    "json": "application/json",
}
EXTENSIONS = {"md": "md", "html": "html", "csv": "csv", "json": "json"}
# Every text below is in the current language: services.stream() calls each writer inside
# `i18n.using(the export's language)`.
KIND_NAMES = {
    "discussion": N_("Discussion"),
    "panel": N_("Panel"),
    "keynote": N_("Keynote"),
    "break": N_("Break"),
}


def kind_name(kind: str) -> str:
    return _(KIND_NAMES[kind]) if kind in KIND_NAMES else kind


def removed_text(reason: str) -> str:
    return _("[removed by a facilitator: %(reason)s]") % {"reason": reason}


def post_text(p: Row, include_hidden: bool) -> tuple[str, str | None]:
    """(text, note): hidden posts are replaced unless the organiser asked to include them."""
    if p["status"] == "deleted":
        return _("[deleted by its author]"), None
    if p["status"] == "hidden":
        reason = p["hidden_reason"] or _("no reason given")
        if not include_hidden:
            return removed_text(reason), None
        return p["body_md"], _("hidden by a facilitator: %(reason)s") % {"reason": reason}
    return p["body_md"], None


def former() -> str:
    return _("Former participant")


def automatic() -> str:
    """Who took a moderation action that no person took."""
    return _("Automatic")


# A member's role after their name (the CSV and JSON keep the code).
ROLE_NAMES = {
    "organiser": N_("organiser"),
    "facilitator": N_("facilitator"),
    "speaker": N_("speaker"),
    "participant": N_("participant"),
    "observer": N_("observer"),
}


def role_name(role: str | None) -> str:
    return _(ROLE_NAMES[role]) if role in ROLE_NAMES else (role or "")


def transcript_title(title: str) -> str:
    return _("%(title)s – transcript") % {"title": title}


def log_headings() -> tuple[str, str, str, str]:
    return (_("When"), _("Who"), _("Action"), _("Reason"))


def question_state(q: Row) -> str:
    """A question's status in words; a dismissed one with its reason (plain text)."""
    status = q["status"]
    if status == "answered":
        return _("answered")
    if status == "answering":
        return _("being answered")
    if status == "open":
        return _("not answered")
    if status == "dismissed":
        if q["dismiss_reason"]:
            return _("dismissed: %(reason)s") % {"reason": q["dismiss_reason"]}
        return _("dismissed")
    return str(status)


def votes(n: int) -> str:
    return ngettext("%(num)d vote", "%(num)d votes", n) % {"num": n}


def kind_when(kind: str, when: str) -> str:
    """'Discussion, Tuesday 24 November 2026, 09:00 GMT to 12:00 GMT'."""
    return _("%(kind)s, %(when)s") % {"kind": kind_name(kind), "when": when}


# --- Markdown that stays inert in any Markdown renderer ---------------------------------------
# Confer renders posts with raw HTML off (and no images): `<b onmouseover=…>` in a post is
# text. A transcript is read by other renderers, most of which pass raw HTML through, so the
# Markdown export writes user text so that it means the same there: raw HTML becomes text.

_MD_TEXT_SPECIALS = frozenset("\\`*_[]<>|")
_checker: Any = None


def md_text(value: object) -> str:
    """Plain text (a name, a title, a reason) as Markdown that shows that text: one line, with
    `<` (raw HTML), `[ ]` (links), emphasis, code and table characters backslash-escaped."""
    flat = " ".join(str(value or "").split())
    return "".join("\\" + ch if ch in _MD_TEXT_SPECIALS else ch for ch in flat)


def _escape_outside_code(text: str) -> str:
    """`<` as `&lt;` and `![` as `&#33;[` everywhere but in code spans and fences (a run of
    backticks up to the next run of the same length), honouring backslash escapes."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            out.append(text[i : i + 2])
            i += 2
            continue
        if ch == "`":
            run = i
            while run < n and text[run] == "`":
                run += 1
            size = run - i
            j = run
            close = -1
            while j < n:
                if text[j] == "`":
                    k = j
                    while k < n and text[k] == "`":
                        k += 1
                    if k - j == size:
                        close = k
                        break
                    j = k
                else:
                    j += 1
            end = close if close != -1 else run
            out.append(text[i:end])
            i = end
            continue
        if ch == "<":
            out.append("&lt;")
        elif ch == "!" and text.startswith("![", i):
            out.append("&#33;")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _live(text: str) -> bool:
    """Whether a renderer that passes raw HTML (CommonMark, html on) finds raw HTML or an
    image in `text`."""
    global _checker
    if _checker is None:
        from markdown_it import MarkdownIt

        _checker = MarkdownIt("commonmark", {"html": True})
    stack = list(_checker.parse(text))
    while stack:
        token = stack.pop()
        if token.type in ("html_block", "html_inline", "image"):
            return True
        stack.extend(token.children or ())
    return False


def md_source(text: str) -> str:
    """A member's Markdown for the transcript: its formatting kept, raw HTML made text.

    Code spans and fences keep their `<` as written; if the result would still hold raw
    HTML for a CommonMark renderer (a construct the quick scan reads differently), every
    `<` is written as `&lt;` instead, which no renderer turns into a tag."""
    if "<" not in text and "![" not in text:
        return text
    out = _escape_outside_code(text)
    if _live(out):
        out = text.replace("<", "&lt;").replace("![", "&#33;[")
    return out


def file_path(f: Row) -> str:
    """Where a file is in a transcript's zip, and how the transcript links to it."""
    return f"files/{f['id']}-{f['filename']}"


def file_note(f: Row) -> str:
    """ "PDF, 1.2 MB": a file's type and size."""
    from confer.files.service import megabytes

    return f"{f['filename'].rsplit('.', 1)[-1].upper()}, {megabytes(f['size'])}"


def files_heading() -> str:
    return _("Files")


def author_line(p: Row, prefix: str = "author") -> str:
    name = p[f"{prefix}_name"] or former()
    title = p.get(f"{prefix}_title") or ""
    return f"{title} {name}".strip()


class Writer:
    """`conference` carries its `language`, `bilingual` and `translations`; `lang` is the
    export's language (the conference's, or for a bilingual conference either), in which the
    writer's own words, dates, and the conference's and sessions' texts are written."""

    def __init__(self, conference: Row, *, include_hidden: bool, lang: str | None = None) -> None:
        self.c = conference
        self.tz = conference["timezone"]
        self.include_hidden = include_hidden
        self.lang = lang or conference.get("language") or i18n.DEFAULT
        # Files (confer.files): set by confer.exports.service.stream; each file the transcript
        # names is at `file_path(f)`, beside it in the zip when the export bundles files.
        self.session_files: dict[int, list[Row]] = {}
        self.post_files: dict[int, list[Row]] = {}
        self.named_files: list[Row] = []

    def files_of_session(self, s: Row) -> list[Row]:
        found = self.session_files.get(s["id"], [])
        self.named_files.extend(found)
        return found

    def files_of_post(self, p: Row) -> list[Row]:
        """A post's files, when its text is in the transcript (hidden posts only with them)."""
        if p["status"] == "deleted" or (p["status"] != "visible" and not self.include_hidden):
            return []
        found = self.post_files.get(p["id"], [])
        self.named_files.extend(found)
        return found

    def text(self, row: Row, name: str, *, session: bool = False) -> i18n.Localized:
        """A conference's (or, `session`, a session's) text in the export's language."""
        if session:
            return i18n.localized(row, name, language=self.lang, conference=self.c)
        return i18n.localized(row, name, language=self.lang)

    def start(self) -> str:
        return ""

    def session(self, s: Row) -> str:
        return ""

    def thread(self, t: Row) -> str:
        return ""

    def post(self, p: Row) -> str:
        return ""

    def thread_end(self) -> str:
        return ""

    def questions(self, questions: list[Row], answers: dict[int, list[Row]]) -> str:
        return ""

    def session_end(self) -> str:
        return ""

    def appendix(self, log: list[Row]) -> str:
        return ""

    def end(self) -> str:
        return ""


class MarkdownWriter(Writer):
    """Every user string goes through md_text (plain text) or md_source (a member's Markdown):
    the transcript holds no live HTML for any Markdown renderer."""

    def start(self) -> str:
        c = self.c
        dates = timefmt.span(c["starts_at"], c["ends_at"], self.tz, "long")
        return (
            f"# {md_text(self.text(c, 'title'))}\n\n{dates} ({timefmt.zone_name(self.tz, c['starts_at'])})\n\n"
            f"{md_source(self.text(c, 'summary_md').strip())}\n\n"
        )

    def session(self, s: Row) -> str:
        when = timefmt.span(s["starts_at"], s["ends_at"], self.tz, "long")
        return (
            f"\n## {md_text(self.text(s, 'title', session=True))}\n\n"
            f"*{kind_when(s['kind'], when)}*\n\n"
        ) + self._md_files(self.files_of_session(s))

    def _md_files(self, files: list[Row]) -> str:
        if not files:
            return ""
        lines = []
        for f in files:
            image = f"![{md_text(f['alt'])}]({file_path(f)}) " if f["kind"] == "image" else ""
            lines.append(f"- {image}[{md_text(f['title'])}]({file_path(f)}) ({file_note(f)})")
        return f"**{md_text(files_heading())}**\n\n" + "\n".join(lines) + "\n\n"

    def thread(self, t: Row) -> str:
        out = f"### {md_text(t['title'])}\n\n"
        if t["summary_md"]:
            summary = md_source(t["summary_md"])
            quoted = "\n".join(f"> {line}" for line in summary.splitlines())
            heading = _("Facilitator summary")
            out += f"> **{heading}**\n>\n{quoted}\n\n"
        return out

    def post(self, p: Row) -> str:
        text, note = post_text(p, self.include_hidden)
        if p["status"] == "hidden" and note is None:
            body = removed_text(md_text(p["hidden_reason"] or _("no reason given")))
        elif p["status"] == "deleted":
            body = text
        else:
            body = md_source(text.strip())
        who = md_text(author_line(p))
        role = role_name(p["author_role"])
        extra = ", ".join(md_text(x) for x in (p["author_organisation"], role) if x)
        reply = (
            " — " + _("in reply to %(post)s") % {"post": f"#{p['reply_to_seq']}"}
            if p["reply_to_seq"]
            else ""
        )
        head = f"**#{p['seq']} {who}**{f' ({extra})' if extra else ''}, {timefmt.short(p['created_at'], self.tz)}{reply}"
        if note:
            head += f" *[{md_text(note)}]*"
        return f"{head}\n\n{body}\n\n" + self._md_files(self.files_of_post(p))

    def questions(self, questions: list[Row], answers: dict[int, list[Row]]) -> str:
        if not questions:
            return _("No questions were asked.") + "\n\n"
        heading = _("Questions from the audience")
        out = f"### {heading}\n\n"
        for q in questions:
            state = md_text(question_state(q))
            who = md_text(q["author_name"] or former())
            head = _("Q (%(votes)s, %(state)s)") % {"votes": votes(q["vote_count"]), "state": state}
            out += f"**{head}** {who}: {md_source(q['body_md'].strip())}\n\n"
            for a in answers.get(q["id"], []):
                speaker = md_text(author_line(a, "speaker"))
                answer = _("Answer from %(speaker)s") % {"speaker": speaker}
                out += f"> **{answer}**: {md_source(a['body_md'].strip())}\n\n"
        return out

    def appendix(self, log: list[Row]) -> str:
        heading = _("Appendix: moderation log")
        heads = " | ".join(log_headings())
        out = f"\n## {heading}\n\n| {heads} |\n|---|---|---|---|\n"
        for r in log:
            out += (
                f"| {timefmt.short(r['created_at'], self.tz)} | {md_text(r['actor_name'] or automatic())} | "
                f"{r['action']} {r['target_type']} {r['target_id']} | {md_text(r['reason'])} |\n"
            )
        return out


HTML_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; max-width: 48em;
       margin: 2em auto; padding: 0 1em; line-height: 1.45; color: #0b0c0c; }
h1 { font-size: 2em; } h2 { border-bottom: 2px solid #0b0c0c; padding-bottom: .2em; }
section.session + section.session { break-before: page; page-break-before: always; }
article.post { border-top: 1px solid #b1b4b6; padding: .5em 0; break-inside: avoid; }
.meta { color: #484949; font-size: .9em; margin: 0; }
.summary, .answer { border-left: 4px solid #1d70b8; padding-left: 1em; }
.removed { color: #484949; font-style: italic; }
table { border-collapse: collapse; width: 100%; } td, th { border: 1px solid #b1b4b6; padding: .3em; }
@media print { body { margin: 0; max-width: none; } a { color: inherit; } }
"""


class HtmlWriter(Writer):
    """One self-contained file: inline CSS, no script, a page break before each session."""

    def start(self) -> str:
        c = self.c
        e = html.escape
        title = self.text(c, "title")
        summary = self.text(c, "summary_html")
        dates = timefmt.span(c["starts_at"], c["ends_at"], self.tz, "long")
        return (
            f'<!DOCTYPE html>\n<html lang="{e(i18n.html_lang(self.lang))}"><head>'
            '<meta charset="utf-8">'
            f"<title>{e(transcript_title(title))}</title>"
            f"<style>{HTML_STYLE}</style></head><body>\n"
            f"<h1{_lang(title, self.lang)}>{e(title)}</h1>\n<p>{e(dates)} ({e(timefmt.zone_name(self.tz, c['starts_at']))})</p>\n"
            f"<div{_lang(summary, self.lang)}>{summary}</div>\n"
        )

    def session(self, s: Row) -> str:
        e = html.escape
        title = self.text(s, "title", session=True)
        when = timefmt.span(s["starts_at"], s["ends_at"], self.tz, "long")
        meta = _("%(kind)s, %(when)s") % {"kind": kind_name(s["kind"]), "when": when}
        return (
            f'<section class="session">\n<h2{_lang(title, self.lang)}>{e(title)}</h2>\n'
            f'<p class="meta">{e(meta)}</p>\n'
        ) + self._html_files(self.files_of_session(s))

    def _html_files(self, files: list[Row]) -> str:
        """The files, each linked; images shown with their text alternative."""
        if not files:
            return ""
        e = html.escape
        items = []
        for f in files:
            path = e(file_path(f), quote=True)
            image = ""
            if f["kind"] == "image":
                image = f'<img src="{path}" alt="{e(f["alt"], quote=True)}"><br>'
            items.append(
                f'<li>{image}<a href="{path}">{e(f["title"])}</a> ({e(file_note(f))})</li>'
            )
        heading = e(files_heading())
        return (
            f'<div class="files"><p><strong>{heading}</strong></p><ul>{"".join(items)}</ul></div>\n'
        )

    def thread(self, t: Row) -> str:
        out = f"<h3>{html.escape(t['title'])}</h3>\n"
        if t["summary_html"]:
            heading = html.escape(_("Facilitator summary"))
            out += (
                f'<div class="summary"><p><strong>{heading}</strong></p>{t["summary_html"]}</div>\n'
            )
        return out

    def post(self, p: Row) -> str:
        e = html.escape
        text, note = post_text(p, self.include_hidden)
        extra = ", ".join(x for x in (p["author_organisation"], role_name(p["author_role"])) if x)
        link = f'<a href="#post-{p["reply_to_id"]}">#{p["reply_to_seq"]}</a>'
        reply = " — " + e(_("in reply to %(post)s")) % {"post": link} if p["reply_to_seq"] else ""
        body = (
            p["body_html"]
            if p["status"] == "visible" or (note and self.include_hidden)
            else f'<p class="removed">{e(text)}</p>'
        )
        note_html = f" <em>[{e(note)}]</em>" if note else ""
        return (
            f'<article class="post" id="post-{p["id"]}"><p class="meta"><strong>#{p["seq"]} '
            f"{e(author_line(p))}</strong>{' (' + e(extra) + ')' if extra else ''}, "
            f"{e(timefmt.short(p['created_at'], self.tz))}{reply}{note_html}</p>{body}"
            f"{self._html_files(self.files_of_post(p))}</article>\n"
        )

    def questions(self, questions: list[Row], answers: dict[int, list[Row]]) -> str:
        e = html.escape
        none, heading = _("No questions were asked."), _("Questions from the audience")
        if not questions:
            return f"<p>{e(none)}</p>\n"
        out = f"<h3>{e(heading)}</h3>\n"
        for q in questions:
            out += (
                f'<article class="post"><p class="meta"><strong>{e(q["author_name"] or former())}</strong>, '
                f"{e(votes(q['vote_count']))}, {e(question_state(q))}</p>{q['body_html']}"
            )
            for a in answers.get(q["id"], []):
                answer = _("Answer from %(speaker)s") % {"speaker": author_line(a, "speaker")}
                out += (
                    f'<div class="answer"><p class="meta"><strong>{e(answer)}</strong></p>'
                    f"{a['body_html']}</div>"
                )
            out += "</article>\n"
        return out

    def session_end(self) -> str:
        return "</section>\n"

    def appendix(self, log: list[Row]) -> str:
        e = html.escape
        rows = "".join(
            f"<tr><td>{e(timefmt.short(r['created_at'], self.tz))}</td><td>{e(r['actor_name'] or automatic())}</td>"
            f"<td>{e(r['action'])} {e(r['target_type'])} {r['target_id']}</td><td>{e(r['reason'])}</td></tr>"
            for r in log
        )
        heads = "".join(f"<th>{e(h)}</th>" for h in log_headings())
        heading = _("Appendix: moderation log")
        return (
            f'<section class="session"><h2>{e(heading)}</h2><table><thead>'
            f"<tr>{heads}</tr></thead><tbody>{rows}</tbody></table></section>\n"
        )

    def end(self) -> str:
        return "</body></html>\n"


def _lang(text: object, page: str) -> str:
    """` lang="cy"` on an element whose text is in another language than the document's."""
    code = getattr(text, "lang", None)
    if code is None or code == page:
        return ""
    return f' lang="{html.escape(i18n.html_lang(code))}"'


def csv_safe(value: object) -> str:
    """Spreadsheets run cells that start with = + - @ (or tab/CR) as formulas: defuse them."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


class CsvWriter(Writer):
    """One row per post."""

    HEADER = (
        "conference",
        "session",
        "thread",
        "seq",
        "post_id",
        "time_local",
        "time_utc",
        "author_name",
        "author_title",
        "author_organisation",
        "author_role",
        "reply_to_seq",
        "status",
        "text",
    )

    def __init__(self, conference: Row, *, include_hidden: bool, lang: str | None = None) -> None:
        super().__init__(conference, include_hidden=include_hidden, lang=lang)
        self.session_title = ""
        self.thread_title = ""

    def _row(self, values: tuple) -> str:
        buf = io.StringIO()
        csv.writer(buf).writerow([csv_safe(v) for v in values])
        return buf.getvalue()

    def start(self) -> str:
        return self._row(self.HEADER)

    def session(self, s: Row) -> str:
        self.session_title = self.text(s, "title", session=True)
        return ""

    def thread(self, t: Row) -> str:
        self.thread_title = t["title"]
        return ""

    def post(self, p: Row) -> str:
        text, _ = post_text(p, self.include_hidden)
        local = timefmt.local(p["created_at"], self.tz)
        return self._row(
            (
                self.text(self.c, "title"),
                self.session_title,
                self.thread_title,
                p["seq"],
                p["id"],
                local.strftime("%Y-%m-%d %H:%M:%S %Z"),
                p["created_at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                p["author_name"] or former(),
                p["author_title"] or "",
                p["author_organisation"] or "",
                p["author_role"] or "",
                p["reply_to_seq"] or "",
                p["status"],
                text,
            )
        )


class JsonWriter(Writer):
    """{"format": "confer-transcript", "version": 1, ...}: see docs/transcript.schema.json."""

    def __init__(self, conference: Row, *, include_hidden: bool, lang: str | None = None) -> None:
        super().__init__(conference, include_hidden=include_hidden, lang=lang)
        self.first_session = True
        self.first_thread = True
        self.first_post = True

    @staticmethod
    def _j(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, default=str)

    def start(self) -> str:
        c = self.c
        head = {
            "format": "confer-transcript",
            "version": 1,
            "generated_at": datetime.now(UTC).isoformat(),
            "include_hidden": self.include_hidden,
            "lang": self.lang,
            "conference": {
                "slug": c["slug"],
                "title": self.text(c, "title"),
                "timezone": self.tz,
                "starts_at": timefmt.iso(c["starts_at"]),
                "ends_at": timefmt.iso(c["ends_at"]),
                "summary": self.text(c, "summary_md"),
            },
        }
        return self._j(head)[:-1] + ',"sessions":['

    def session(self, s: Row) -> str:
        sep = "" if self.first_session else ","
        self.first_session = False
        self.first_thread = True
        data = {
            "id": s["id"],
            "kind": s["kind"],
            "title": self.text(s, "title", session=True),
            "starts_at": timefmt.iso(s["starts_at"]),
            "ends_at": timefmt.iso(s["ends_at"]),
            "files": self._json_files(self.files_of_session(s)),
        }
        return sep + self._j(data)[:-1] + ',"threads":['

    def thread(self, t: Row) -> str:
        sep = "" if self.first_thread else ","
        self.first_thread = False
        self.first_post = True
        data = {
            "id": t["id"],
            "title": t["title"],
            "summary": t["summary_md"] or None,
            "locked": t["locked_at"] is not None,
        }
        return sep + self._j(data)[:-1] + ',"posts":['

    def post(self, p: Row) -> str:
        sep = "" if self.first_post else ","
        self.first_post = False
        text, note = post_text(p, self.include_hidden)
        data = {
            "id": p["id"],
            "seq": p["seq"],
            "reply_to_seq": p["reply_to_seq"],
            "created_at": timefmt.iso(p["created_at"]),
            "edited_at": timefmt.iso(p["edited_at"]) or None,
            "author": {
                "name": p["author_name"] or former(),
                "title": p["author_title"] or "",
                "organisation": p["author_organisation"] or "",
                "role": p["author_role"] or "",
            },
            "status": p["status"],
            "text": text,
            "note": note,
            "files": self._json_files(self.files_of_post(p)),
        }
        return sep + self._j(data)

    @staticmethod
    def _json_files(files: list[Row]) -> list[dict[str, Any]]:
        return [
            {"id": f["id"], "title": f["title"], "alt": f["alt"], "filename": f["filename"],
             "content_type": f["content_type"].split(";")[0], "size": f["size"],
             "path": file_path(f)}
            for f in files
        ]  # fmt: skip

    def thread_end(self) -> str:
        return "]}"

    def questions(self, questions: list[Row], answers: dict[int, list[Row]]) -> str:
        # Held until session_end(): in JSON the questions follow the session's threads.
        self.pending_questions = [
            {
                "id": q["id"],
                "text": q["body_md"],
                "status": q["status"],
                "votes": q["vote_count"],
                "dismiss_reason": q["dismiss_reason"],
                "merged_into_id": q["merged_into_id"],
                "author": q["author_name"] or former(),
                "answers": [
                    {
                        "speaker": author_line(a, "speaker"),
                        "text": a["body_md"],
                        "created_at": timefmt.iso(a["created_at"]),
                    }
                    for a in answers.get(q["id"], [])
                ],
            }
            for q in questions
        ]
        return ""

    def session_end(self) -> str:
        questions, self.pending_questions = getattr(self, "pending_questions", []), []
        return '],"questions":' + self._j(questions) + "}"

    def appendix(self, log: list[Row]) -> str:
        self.log = [
            {
                "at": timefmt.iso(r["created_at"]),
                "actor": r["actor_name"] or None,
                "action": r["action"],
                "target_type": r["target_type"],
                "target_id": r["target_id"],
                "reason": r["reason"],
            }
            for r in log
        ]
        return ""

    def end(self) -> str:
        log = getattr(self, "log", None)
        return "]" + (',"moderation_log":' + self._j(log) if log is not None else "") + "}\n"


WRITERS: dict[str, type[Writer]] = {
    "md": MarkdownWriter,
    "html": HtmlWriter,
    "csv": CsvWriter,
    "json": JsonWriter,
}
