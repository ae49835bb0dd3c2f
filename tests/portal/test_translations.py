"""The English catalogue translates every user-facing string of the code and templates."""
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "portal" / "translations" / "en" / "LC_MESSAGES" / "messages.po"


def test_every_message_of_the_code_has_an_english_translation(tmp_path):
    """What ``scripts/translations.sh`` extracts: a string added without its translation fails here."""
    pot = tmp_path / "messages.pot"
    subprocess.run([str(Path(sys.executable).with_name("pybabel")), "extract", "-F", "babel.cfg", "-k", "_l",
                    "-o", str(pot), "."], cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as f:
        extracted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    with CATALOGUE.open("rb") as f:
        catalogue = read_po(f)
    translated = {(m.id if isinstance(m.id, str) else m.id[0]) for m in catalogue
                  if m.id and not m.fuzzy and all(m.string if isinstance(m.string, tuple) else (m.string,))}
    missing = sorted(extracted - translated)
    assert not missing, f"{len(missing)} strings without an English translation (run scripts/translations.sh): " \
                        + "; ".join(missing[:10])
