"""Compile the translation catalogues (locale/*/LC_MESSAGES/*.po -> .mo) without GNU gettext.

python -m frontend.i18n compile
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = ["ru"]
# Paths makemessages must not scan: environments, data, build output, tests.
IGNORE_PATTERNS = [
    ".venv",
    "node_modules",
    ".data",
    "frontend/build",
    "*/node_modules/*",
    "tests",
    "*/tests/*",
]


def compile_catalogues(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    compiled = []
    for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
        compiled.append(mo_path)
    return compiled


def extract() -> None:
    import os

    import django
    from django.core.management import call_command

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
    django.setup()
    os.chdir(LOCALE_DIR.parent)
    call_command("makemessages", locale=LANGUAGES, ignore_patterns=IGNORE_PATTERNS, add_location="file")


def main() -> int:
    command = sys.argv[1:]
    if command == ["compile"]:
        for path in compile_catalogues():
            print(f"compiled {path.relative_to(LOCALE_DIR.parent)}")
        return 0
    if command == ["extract"]:
        extract()
        return 0
    print("usage: python -m frontend.i18n compile|extract")
    return 2


if __name__ == "__main__":
    sys.exit(main())
