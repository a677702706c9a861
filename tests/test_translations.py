"""French first: every user-visible string extracted from the code has its French text."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from pathway import ROOT

CATALOGUE = ROOT / "pathway" / "translations" / "fr" / "LC_MESSAGES" / "messages.po"


def extracted_msgids(tmp_path: Path) -> set[str]:
    template = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(template),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with template.open("rb") as handle:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}


def test_every_string_in_the_code_has_a_french_translation(tmp_path: Path) -> None:
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalogue
        if m.id
        and (all(m.string) if isinstance(m.string, tuple) else m.string)
        and "fuzzy" not in m.flags
    }
    missing = sorted(extracted_msgids(tmp_path) - translated)
    assert missing == [], f"untranslated strings: {missing[:20]}"


def test_french_translations_keep_their_placeholders() -> None:
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    placeholder = re.compile(r"%\(\w+\)[sd]")
    for message in catalogue:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set(placeholder.findall(ids[-1]))
        for text in strings:
            assert set(placeholder.findall(text)) <= expected | set(placeholder.findall(ids[0])), (
                message.id
            )
            assert expected <= set(placeholder.findall(text)) | {"%(num)d"}, message.id


# « déconnecté·e », « Pharmacien·ne », « né(e) »: read aloud badly by screen readers, and a
# patient's own documents agree with their sex instead.
INCLUSIVE_FORM = re.compile(r"\w[·.](e|ne|se|rice)s?\b|\w\((e|ne|se|rice)\)s?")


def test_french_has_no_inclusive_forms_in_what_people_read() -> None:
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    found = []
    for message in catalogue:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        found += [text for text in strings if text and INCLUSIVE_FORM.search(text)]
    assert found == []
