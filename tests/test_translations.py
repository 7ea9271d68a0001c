"""The Dutch catalogue is complete: every text in the code and templates has a translation."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "portal" / "translations" / "nl" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def _read(path: Path):
    with path.open("rb") as handle:
        return read_po(handle, locale="nl")


def _extracted(tmp_path: Path):
    target = tmp_path / "messages.pot"
    subprocess.run(
        [Path(sys.executable).parent / "pybabel", "--quiet", "extract", "-F", "babel.cfg", "-k", "N_",
         "-o", str(target), "--no-location", "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    return _read(target)


def test_every_text_in_the_sources_is_in_the_dutch_catalogue(tmp_path):
    catalogue = _read(CATALOGUE)
    missing = [message.id for message in _extracted(tmp_path) if message.id and message.id not in catalogue]
    assert missing == [], "run `make messages` and translate:\n" + "\n".join(map(str, missing))


def test_every_entry_is_translated_with_the_same_placeholders():
    problems = []
    for message in _read(CATALOGUE):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            if not string or message.fuzzy:
                problems.append(f"untranslated or fuzzy: {ids[0]!r}")
            elif set(PLACEHOLDER.findall(string)) - wanted:
                problems.append(f"unknown placeholder in {string!r}")
    assert problems == []


FORMAL_YOU = re.compile(r"\b([Uu]|[Uu]w)\b")


def test_the_portal_says_je_to_its_users_and_u_only_to_a_guardian():
    """Plain Dutch (B1) addresses members, officers and council members as "je"; only the texts
    for a parent or guardian, who has no account, use the polite "u"."""
    formal = []
    for message in _read(CATALOGUE):
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for_guardian = any(word in " ".join(ids) for word in ("child", "guardian", "consent", "link"))
        if message.id and not for_guardian and any(FORMAL_YOU.search(string or "") for string in strings):
            formal.append(strings[0])
    assert formal == []
