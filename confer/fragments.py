"""Rendered posts, kept for the next reader.

A thread page shows the same 50 posts to most of its readers, and rendering a post through its
Jinja macro was most of a page's cost (bench/pages.py). A post's HTML is kept under a key made
of everything the macro reads from the post and from the viewer, so nothing is ever stale: an
edit, a hide, a pin, a renamed author or a page turned into "new" for this reader is simply
another key. The page's language is part of the key too: a post's HTML holds Confer's words
("Reply", "Report", "New", its date) in the reader's language, and marks the post's own
language when it differs, so a Welsh reader never gets an English reader's post or the
reverse. The viewer's own posts and moderators' pages (forms with their CSRF token, the
moderation tools) are rendered afresh. Oldest entries go first once the cache is full.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from markupsafe import Markup

from confer import i18n

MAX_ENTRIES = 4000  # ~2.5 KB each (the HTML and the key's copy of body_html): ~10 MB


class PostFragments:
    """`posts_html(...)` in templates: posts' HTML from `macro`, each kept while it is current."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._kept: dict[tuple, Markup] = {}
        self.hits = 0
        self.misses = 0

    def __call__(
        self,
        macro: Callable[[Mapping[str, Any]], Markup],
        posts: list[Mapping[str, Any]],
        conference: Mapping[str, Any],
        page_no: int,
        read_upto: int,
        can_reply: bool,
        can_report: bool,
        personal: bool,
    ) -> Markup:
        """The page's posts, in order (the loop is here, not in Jinja: a call per post from a
        template costs more than a kept post does)."""
        lang = i18n.lang()
        return Markup("").join(
            [
                self.one(macro, p, conference, page_no, p["seq"] > read_upto, can_reply,
                         can_report, personal, lang)
                for p in posts
            ]
        )  # fmt: skip

    def one(
        self,
        macro: Callable[[Mapping[str, Any]], Markup],
        p: Mapping[str, Any],
        conference: Mapping[str, Any],
        page_no: int,
        new: bool,
        can_reply: bool,
        can_report: bool,
        personal: bool,
        lang: str | None = None,
    ) -> Markup:
        """One post's HTML; `lang` is the page's language (the current one when not given)."""
        if lang is None:
            lang = i18n.lang()
        if personal or p["mine"]:
            return macro(p)
        key = (
            p["id"], p["thread_id"], p["seq"], p["status"], p["created_at"], p["edited_at"],
            p["pinned_at"], p["hidden_reason"], p["placeholder"], p["body_html"],
            p["author_name"], p["author_title"], p["author_role"], p["author_organisation"],
            p["reply_to_id"], p["reply_to_name"], p.get("lang"), p.get("files_key"),
            conference["slug"], conference["timezone"], page_no, new, can_reply, can_report,
            lang,
        )  # fmt: skip
        html = self._kept.get(key)
        if html is not None:
            self.hits += 1
            return html
        self.misses += 1
        html = macro(p)
        if len(self._kept) >= self.max_entries:
            del self._kept[next(iter(self._kept))]
        self._kept[key] = html
        return html
