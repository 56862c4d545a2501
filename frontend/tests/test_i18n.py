"""The Russian catalogue is complete: every string in the code is translated, placeholders intact."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import polib
import pytest
from django.core.management import call_command

from frontend.i18n import IGNORE_PATTERNS, LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "ru" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def assert_complete(catalogue: polib.POFile) -> None:
    untranslated = [e.msgid for e in catalogue.untranslated_entries()]
    fuzzy = [e.msgid for e in catalogue.fuzzy_entries() if e.msgid]
    assert untranslated == []
    assert fuzzy == []
    plural_forms = catalogue.metadata.get("Plural-Forms", "")
    found = re.search(r"nplurals=(\d+)", plural_forms)
    nplurals = int(found.group(1)) if found else 2
    for entry in catalogue.translated_entries():
        if entry.msgid_plural:  # msgfmt refuses the whole catalogue otherwise
            assert sorted(entry.msgstr_plural) == list(range(nplurals)), entry.msgid
        expected = set(PLACEHOLDER.findall(entry.msgid))
        forms = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        for form in forms:
            assert set(PLACEHOLDER.findall(form)) == expected, entry.msgid


def test_russian_catalogue_is_complete_and_consistent():
    assert_complete(polib.pofile(str(PO)))


def test_every_string_in_the_code_is_in_the_russian_catalogue(monkeypatch):
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        pytest.skip("GNU gettext (xgettext, msgmerge) is needed to extract strings")
    monkeypatch.chdir(ROOT)

    # makemessages writes into ./locale (the repository's catalogue), whatever LOCALE_PATHS says: read what it
    # wrote there (every string in the code, with the existing translations merged in), then put the file back.
    original = PO.read_bytes()
    try:
        call_command(
            "makemessages", locale=LANGUAGES, ignore_patterns=IGNORE_PATTERNS, verbosity=0, add_location="file"
        )
        extracted = polib.pofile(PO.read_text(encoding="utf-8"))
    finally:
        PO.write_bytes(original)

    assert_complete(extracted)
