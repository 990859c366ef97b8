"""The catalogues against the code: CI fails when a message in the code is missing from them
or has no Welsh translation (issue #20).

The messages are extracted from the source tree exactly as docs/translating.md tells a
developer to (`pybabel extract -F pyproject.toml ...`), into a temporary file, and compared
with confer/locale/{en,cy}/LC_MESSAGES/messages.po. Each test fails with the list of what is
wrong, so the fix is to run the documented `pybabel update` and write the Welsh.
"""

from __future__ import annotations

import gettext
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from confer import i18n

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "confer" / "locale"
JS = i18n.JS_SOURCE  # "static/confer.js"
# Welsh: zero, one, two, few, many, other; the n that picks each (docs/translating.md).
WELSH_PLURAL_INDEX = {0: 0, 1: 1, 2: 2, 3: 3, 6: 4, 4: 5, 5: 5, 7: 5, 11: 5, 20: 5, 100: 5}
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0\- +]*\d*(?:\.\d+)?[sdifr]")

# The command of docs/translating.md, run as `python -m babel.messages.frontend` so that it is
# the Babel of the interpreter running the tests.
EXTRACT = [
    sys.executable,
    "-m",
    "babel.messages.frontend",
    "extract",
    "-F",
    "pyproject.toml",
    # Babel skips folders named `_*` by default: templates/_partials would go unread.
    "--ignore-dirs=.* __pycache__",
    "--add-location=file",
    "--sort-by-file",
    "--project=Confer",
    "--copyright-holder=Confer's authors",
    "-c",
    "Translators:",
]


def extract(root: Path, out: Path) -> Catalog:
    """The messages in the code under `root`, as `pybabel extract` finds them."""
    done = subprocess.run(
        [*EXTRACT, "-o", str(out), "."], cwd=root, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"pybabel extract failed:\n{done.stderr[-4000:]}"
    with out.open("rb") as f:
        return read_po(f)


def load(code: str) -> Catalog:
    with (LOCALE / code / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=code)


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return extract(ROOT, tmp_path_factory.mktemp("extract") / "messages.pot")


@pytest.fixture(scope="module")
def cy() -> Catalog:
    return load("cy")


@pytest.fixture(scope="module")
def en() -> Catalog:
    return load("en")


def messages(catalog: Catalog) -> list[Message]:
    """The catalogue's messages, without its header."""
    return [m for m in catalog if m.id]


def name(m: Message) -> str:
    """A message as a reader of the failure finds it: where, context, msgid (and plural)."""
    where = ", ".join(sorted({path for path, _line in m.locations})) or "?"
    ctx = f"msgctxt {m.context!r} " if m.context else ""
    if m.pluralizable:
        return f"{where}: {ctx}msgid {m.id[0]!r} msgid_plural {m.id[1]!r}"
    return f"{where}: {ctx}msgid {m.id!r}"


def report(title: str, problems: Iterable[str]) -> str:
    problems = list(problems)
    return f"{len(problems)} {title}:\n  " + "\n  ".join(problems)


def missing_from(catalog: Catalog, extracted: Catalog) -> list[str]:
    """The extracted messages `catalog` lacks, or holds as singular when the code's is plural
    (or the reverse, or with another plural msgid)."""
    problems = []
    for m in messages(extracted):
        held = catalog.get(m.id, context=m.context)
        if held is None:
            problems.append(name(m))
        elif held.pluralizable != m.pluralizable or (m.pluralizable and held.id != m.id):
            problems.append(f"{name(m)}  (the catalogue has {held.id!r})")
    return problems


def test_every_message_in_the_code_is_in_the_english_catalogue(code: Catalog, en: Catalog):
    problems = missing_from(en, code)
    assert not problems, report(
        "messages in the code are missing from confer/locale/en (run pybabel update, "
        "docs/translating.md)",
        problems,
    )


def test_every_message_in_the_code_is_in_the_welsh_catalogue(code: Catalog, cy: Catalog):
    problems = missing_from(cy, code)
    assert not problems, report(
        "messages in the code are missing from confer/locale/cy (run pybabel update, "
        "then write their Welsh: docs/translating.md)",
        problems,
    )


def untranslated(catalog: Catalog, forms: int) -> list[str]:
    """Messages without a complete, settled translation: an empty msgstr, fewer than `forms`
    non-empty plural forms, or marked fuzzy (a guess pybabel made, never shown)."""
    problems = []
    for m in messages(catalog):
        if m.fuzzy:
            problems.append(f"{name(m)}  (fuzzy)")
        elif m.pluralizable:
            strings = m.string if isinstance(m.string, tuple) else (m.string,)
            filled = [s for s in strings if s]
            if len(strings) != forms or len(filled) != forms:
                problems.append(f"{name(m)}  ({len(filled)} of {forms} plural forms)")
        elif not m.string:
            problems.append(name(m))
    return problems


def test_every_welsh_message_is_translated_and_not_fuzzy(cy: Catalog):
    """Every message the code uses has its Welsh, all six forms for a plural; and nothing in
    the Welsh catalogue is a fuzzy guess (gettext never shows those: the reader would get
    English)."""
    problems = untranslated(cy, forms=6)
    assert not problems, report("messages have no Welsh translation", problems)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def placeholder_problems(catalog: Catalog) -> list[str]:
    """Babel's own checks (placeholders of the right kind and type, the number of plural
    forms), and more strictly: every `%(name)s` of the msgid is in each translated form (a name
    or number left out is a sentence with a hole), and every message that gets formatted (a
    template's, all of which new-style gettext formats, or one with placeholders) still
    formats: a lone % must be written %%."""
    problems = [f"{name(m)}: {'; '.join(map(str, errors))}" for m, errors in catalog.check()]
    for m in messages(catalog):
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        wanted = set().union(*(placeholders(i) for i in ids))
        formatted = "python-format" in m.flags or any(
            path.startswith("templates/") for path, _line in m.locations
        )
        for s in strings:
            if not s:
                continue  # untranslated: test_every_welsh_message_is_translated_and_not_fuzzy
            if lost := wanted - placeholders(s):
                problems.append(f"{name(m)}: {s!r} lacks {', '.join(sorted(lost))}")
            if formatted:
                try:
                    s % {k: 1 for k in wanted | placeholders(s)}
                except (ValueError, TypeError, KeyError) as e:
                    problems.append(f"{name(m)}: {s!r} does not format ({e}); write % as %%")
    return problems


def test_welsh_placeholders_match_the_english(cy: Catalog):
    problems = placeholder_problems(cy)
    assert not problems, report("Welsh messages have placeholder problems", problems)


def test_welsh_has_six_plural_forms_in_cldr_order(cy: Catalog):
    """Plural-Forms: nplurals=6, chosen for n = 0, 1, 2, 3, 6 and every other n, in that order
    (zero, one, two, few, many, other), as the forms of each plural msgstr are written."""
    assert cy.num_plurals == 6, cy.plural_forms
    choose = gettext.c2py(cy.plural_expr)
    assert {n: choose(n) for n in WELSH_PLURAL_INDEX} == WELSH_PLURAL_INDEX, cy.plural_forms
    # And the same order in confer.js, which picks a form by Intl.PluralRules' category.
    with i18n.using("cy"):
        assert i18n.js_messages()["plural"] == ["zero", "one", "two", "few", "many", "other"]


def test_confer_js_messages_are_in_the_catalogues_for_the_page(code: Catalog):
    """confer.js writes no English of its own: its messages are extracted from it, and each
    is in the catalogues with the static/confer.js location, which is how confer.i18n finds
    the messages it hands to the page (js_messages)."""
    js = [m for m in messages(code) if any(path == JS for path, _line in m.locations)]
    assert js, f"no messages extracted from {JS}: its text is not translatable"
    problems = []
    for code_name in ("en", "cy"):
        catalog = load(code_name)
        for m in js:
            held = catalog.get(m.id, context=m.context)
            if held is None or not any(path == JS for path, _line in held.locations):
                problems.append(f"{code_name}: {name(m)}")
        with i18n.using(code_name):
            given = i18n.js_messages()["messages"]
        for m in js:
            key = m.id if isinstance(m.id, str) else m.id[0]
            if key not in given:
                problems.append(f"{code_name}: {name(m)}  (not handed to the page)")
    assert not problems, report(f"of {JS}'s messages are not in the catalogues", problems)


def test_the_check_finds_a_new_message_that_is_not_in_the_catalogues(tmp_path: Path):
    """The check itself: a copy of the tree with one new `_()` in a module extracts a message
    the catalogues lack, and missing_from names it with its file."""
    tree = tmp_path / "tree"
    (tree / "confer").mkdir(parents=True)
    (tree / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    (tree / "confer" / "new.py").write_text(
        'from confer.i18n import _\n\n\ndef f() -> str:\n    return _("A sentence nobody has '
        'translated yet")\n'
    )
    found = missing_from(load("cy"), extract(tree, tmp_path / "messages.pot"))
    assert found == ["confer/new.py: msgid 'A sentence nobody has translated yet'"]


def test_the_checks_find_untranslated_fuzzy_and_broken_welsh():
    """The checks themselves, on a small Welsh catalogue with one fault of each kind."""
    cy = Catalog(locale="cy")
    loc = [("templates/x.html", None)]
    cy.add("Done", "Wedi gorffen", locations=loc)
    cy.add("Not yet", "", locations=loc)
    cy.add("Guessed", "Dyfalu", locations=loc, flags=["fuzzy"])
    forms = ("%(num)d neges", "%(num)d neges", "%(num)d neges", "%(num)d neges", "%(num)d neges")
    cy.add(("%(num)d post", "%(num)d posts"), forms, locations=loc, flags=["python-format"])
    cy.add("Hello %(name)s", "Helo", locations=loc, flags=["python-format"])
    cy.add("100 per cent", "100%", locations=loc)
    assert untranslated(cy, forms=6) == [
        "templates/x.html: msgid 'Not yet'",
        "templates/x.html: msgid 'Guessed'  (fuzzy)",
        "templates/x.html: msgid '%(num)d post' msgid_plural '%(num)d posts'  (5 of 6 plural forms)",
    ]
    problems = placeholder_problems(cy)
    assert any("'Hello %(name)s'" in p and "lacks name" in p for p in problems), problems
    assert any("'100 per cent'" in p and "does not format" in p for p in problems), problems
