"""The Simplified Chinese catalogue covers every user-facing string, and its .mo is current.

The first test re-runs Django's makemessages over a copy of the project's sources, so a
string wrapped in gettext (or {% translate %}) since the last translation pass shows up
as untranslated (or as a fuzzy guess from msgmerge) and fails the test with its source
location. The fix: `make messages`, translate the new entries in
locale/zh_Hans/LC_MESSAGES/django.po (terms in docs/glossary-zh.md), compile, commit both.

makemessages and msgfmt are GNU gettext programs (Debian package `gettext`).
"""

from __future__ import annotations

import ast
import contextlib
import gettext
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.template import Context, Template
from django.test import Client, override_settings
from django.utils import translation

ROOT = Path(__file__).resolve().parents[1]
LC_MESSAGES = Path("locale") / "zh_Hans" / "LC_MESSAGES"
COMMITTED_PO = ROOT / LC_MESSAGES / "django.po"
COMMITTED_MO = ROOT / LC_MESSAGES / "django.mo"
# The same folders `make messages` leaves out; none of them holds user-facing text.
IGNORED_DIRECTORIES = {".venv", "var", "test-artifacts", "tests", "bench", "locale"}
SOURCE_SUFFIXES = {".py", ".html", ".txt"}  # makemessages' django domain reads these


@dataclass
class Entry:
    """One message of a .po file."""

    msgid: str = ""
    context: str | None = None
    msgid_plural: str | None = None
    msgstrs: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)

    @property
    def is_translated(self) -> bool:
        return bool(self.msgstrs) and all(self.msgstrs) and "fuzzy" not in self.flags

    def describe(self) -> str:
        where = " ".join(self.references[:2]) or "?"
        state = "fuzzy" if "fuzzy" in self.flags else "untranslated"
        return f"{where}: {self.msgid!r} ({state})"


def read_po(path: Path) -> list[Entry]:
    """Parse a .po file (header first); obsolete `#~` entries are skipped."""
    entries: list[Entry] = []
    entry = Entry()
    target: tuple[str, int] | None = None  # the keyword that continuation lines extend
    started = False

    def finish() -> None:
        nonlocal entry, target, started
        if started:
            entries.append(entry)
        entry, target, started = Entry(), None, False

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
        elif line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#:"):
            entry.references.extend(line[2:].split())
        elif line.startswith("#"):
            continue  # translator, extracted and previous-msgid comments; obsolete entries
        elif line.startswith('"'):
            _extend(entry, target, ast.literal_eval(line))
        else:
            keyword, _, quoted = line.partition(" ")
            started = True
            text = ast.literal_eval(quoted)  # PO escapes (\" \\ \n \t) are Python's too
            if keyword == "msgctxt":
                entry.context, target = text, ("msgctxt", 0)
            elif keyword == "msgid":
                entry.msgid, target = text, ("msgid", 0)
            elif keyword == "msgid_plural":
                entry.msgid_plural, target = text, ("msgid_plural", 0)
            elif keyword == "msgstr" or keyword.startswith("msgstr["):
                entry.msgstrs.append(text)
                target = ("msgstr", len(entry.msgstrs) - 1)
            else:
                raise ValueError(f"{path}: cannot read {raw!r}")
    finish()
    return entries


def _extend(entry: Entry, target: tuple[str, int] | None, text: str) -> None:
    if target is None:
        raise ValueError(f"a continuation line outside an entry: {text!r}")
    name, index = target
    if name == "msgstr":
        entry.msgstrs[index] += text
    elif name == "msgctxt":
        entry.context = (entry.context or "") + text
    elif name == "msgid_plural":
        entry.msgid_plural = (entry.msgid_plural or "") + text
    else:
        entry.msgid += text


def copy_sources(destination: Path) -> None:
    """Copy the files makemessages reads, outside the ignored folders, keeping their paths."""
    for directory, subdirectories, files in os.walk(ROOT):
        relative = Path(directory).relative_to(ROOT)
        subdirectories[:] = [
            name
            for name in subdirectories
            if not name.startswith(".")
            and name != "__pycache__"
            and not (relative == Path(".") and name in IGNORED_DIRECTORIES)
        ]
        for name in files:
            if Path(name).suffix in SOURCE_SUFFIXES:
                (destination / relative).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(Path(directory) / name, destination / relative / name)


@pytest.fixture
def extracted_catalogue(tmp_path: Path) -> list[Entry]:
    """Run makemessages on a copy of the sources, merged into a copy of the committed .po.

    makemessages writes into any `locale` folder it finds under the working directory, so
    it runs in the copy: the committed catalogue is never touched.
    """
    project = tmp_path / "project"
    copy_sources(project)
    (project / LC_MESSAGES).mkdir(parents=True)
    shutil.copyfile(COMMITTED_PO, project / LC_MESSAGES / "django.po")
    with (
        contextlib.chdir(project),
        override_settings(LOCALE_PATHS=[str(project / "locale")]),
    ):
        call_command(
            "makemessages",
            locale=["zh_Hans"],
            ignore_patterns=sorted(IGNORED_DIRECTORIES),
            no_obsolete=True,
            verbosity=0,
        )
    return read_po(project / LC_MESSAGES / "django.po")


def mo_catalogue(path: Path) -> dict[object, str]:
    with path.open("rb") as handle:
        return dict(gettext.GNUTranslations(handle)._catalog)  # type: ignore[attr-defined]


def test_every_user_facing_string_has_a_chinese_translation(
    extracted_catalogue: list[Entry],
) -> None:
    header, *messages = extracted_catalogue
    # Extraction really ran over the sources (an empty copy would pass vacuously).
    assert header.msgid == ""
    assert "Sign in to Paydesk" in {entry.msgid for entry in messages}

    missing = [entry.describe() for entry in messages if not entry.is_translated]

    assert missing == [], (
        f"{len(missing)} string(s) lack a Chinese translation; run `make messages` and "
        "translate them in locale/zh_Hans/LC_MESSAGES/django.po:\n" + "\n".join(missing)
    )


def test_the_committed_catalogue_is_fully_translated_with_a_chinese_header() -> None:
    header, *messages = read_po(COMMITTED_PO)

    assert header.msgid == "" and "fuzzy" not in header.flags
    assert "Language: zh_Hans\n" in header.msgstrs[0]
    assert "Content-Type: text/plain; charset=UTF-8\n" in header.msgstrs[0]
    assert "Plural-Forms: nplurals=1; plural=0;\n" in header.msgstrs[0]
    assert [entry.describe() for entry in messages if not entry.is_translated] == []
    # nplurals=1: each plural entry has exactly one form.
    plural_forms = {len(entry.msgstrs) for entry in messages if entry.msgid_plural}
    assert plural_forms == {1}


def test_the_committed_mo_is_compiled_from_the_committed_po(tmp_path: Path) -> None:
    compiled = tmp_path / "django.mo"
    # --check also refuses a translation whose placeholders differ from its msgid's.
    subprocess.run(
        ["msgfmt", "--check", "-o", str(compiled), str(COMMITTED_PO)],
        check=True,
        capture_output=True,
    )

    expected, committed = mo_catalogue(compiled), mo_catalogue(COMMITTED_MO)

    stale = sorted(
        repr(key)
        for key in expected.keys() | committed.keys()
        if expected.get(key) != committed.get(key)
    )
    assert stale == [], (
        "locale/zh_Hans/LC_MESSAGES/django.mo is out of date; run "
        "`manage.py compilemessages -l zh_Hans --ignore=.venv`. Differing messages:\n"
        + "\n".join(stale[:50])
    )


def test_plural_messages_and_percent_signs_render_in_chinese() -> None:
    template = Template(
        "{% load i18n %}"
        "{% blocktranslate count counter=n %}{{ counter }} user{% plural %}{{ counter }} users"
        "{% endblocktranslate %}|{% translate 'In basis points: 100 bp = 1%.' %}"
    )

    with translation.override("zh-hans"):
        one = template.render(Context({"n": 1}))
        many = template.render(Context({"n": 12}))

    assert one == "1 位用户|以基点为单位：100 基点 = 1%。"  # noqa: RUF001
    assert many == "12 位用户|以基点为单位：100 基点 = 1%。"  # noqa: RUF001


@pytest.fixture
def _fresh_rate_limits() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
@pytest.mark.usefixtures("_fresh_rate_limits")
def test_the_chinese_login_page_shows_allauths_strings_and_ours_in_chinese(client: Client) -> None:
    response = client.post(
        "/zh-hans/accounts/login/", {"login": "nobody@example.com", "password": "not-the-password"}
    )
    html = response.content.decode()

    assert response.status_code == 200
    # allauth's own zh_Hans catalogue: the form error and the "Remember Me" label.
    assert "您提供的电子邮件地址和/或密码不正确。" in html
    assert "记住我" in html
    # Ours, from locale/zh_Hans.
    assert "<h1>登录 Paydesk</h1>" in html
    assert "忘记密码？" in html  # noqa: RUF001
    assert "Sign in to Paydesk" not in html
