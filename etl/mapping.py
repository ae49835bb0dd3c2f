"""Mappings: how a source file's columns become a target table's fields (data, not code).

A mapping is a YAML document; the shipped ones are the presets in ``etl/presets/*.yml``, and a
city writes its own for its files (format documented in README.md, section "ETL")::

    target: incidents            # quartiers | zones | incidents | establishments | contracts
    source: ville-x              # value stored in the `source` column (natural key with external_id)
    read:                        # optional reader hints
      format: csv                # force a reader (csv, vector, decp-json, open311)
      x: longitude               # point columns (CSV, JSON); geometry of vector files is used as is
      y: latitude
      crs: EPSG:4326             # CRS of x/y, or of a vector file that declares none
      null_values: ["", "NC"]    # cell values read as missing
    fields:                      # target field: spec
      external_id: id            #   a column name
      reported_at: {column: date_signalement}
      status: {column: etat, map: {ouvert: new, clos: resolved}, default: new}
      code: {columns: [insee, num], join: "-"}     # several columns joined
      commune_name: {value: Paris}                 # a constant
      decp_id: {first: [uid, {columns: [acheteur_siret, id_marche], join: ""}]}   # first non-empty
      category: {rules: dansmarue_categories.yml}  # category rules (a file next to the mapping, or a list)

Specs are applied vectorially on each chunk; unknown target fields are refused, so a mapping
can never name a column outside the target's whitelist.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ova.errors import InvalidInput

PRESETS_DIR = Path(__file__).resolve().parent / "presets"


@dataclass
class Mapping:
    """A parsed mapping document (see module docstring)."""

    name: str
    target: str
    fields: dict[str, Any]
    source: str | None = None
    read: dict[str, Any] = field(default_factory=dict)
    base_dir: Path = PRESETS_DIR
    description: str | None = None

    @property
    def null_values(self) -> set[str]:
        return set(self.read.get("null_values", [""]))

    def columns_needed(self) -> set[str]:
        """Source columns the mapping reads (checked against the file's header)."""
        needed: set[str] = set()
        for spec in self.fields.values():
            needed |= _spec_columns(spec, self)
        for key in ("x", "y"):
            if key in self.read:
                needed.add(self.read[key])
        return needed

    def evaluate(self, name: str, frame: pd.DataFrame) -> pd.Series:
        """The values of target field ``name`` for ``frame`` (object Series, None when missing)."""
        return _evaluate(self.fields[name], frame, self)


def _spec_columns(spec, mapping: Mapping) -> set[str]:
    if isinstance(spec, str):
        return {spec}
    if not isinstance(spec, dict):
        return set()
    if "column" in spec:
        return {spec["column"]}
    if "columns" in spec:
        return set(spec["columns"])
    if "first" in spec:
        return set().union(*(_spec_columns(s, mapping) for s in spec["first"]))
    if "rules" in spec:
        return set(load_rules(spec["rules"], mapping)["columns"])
    return set()


def _as_text(values: pd.Series, nulls: set[str]) -> pd.Series:
    """Stripped strings (object Series); missing, empty and ``nulls`` values are None."""
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
        # CSV columns (pandas/Arrow strings): vectorised, no per-value Python.
        text = values.str.strip()
        missing = (text.isna() | text.isin(nulls | {""})).to_numpy(dtype=bool)
        out = text.to_numpy(dtype=object, na_value=None)
        out[missing] = None
        return pd.Series(out, index=values.index, dtype=object)
    out = []
    for v in values.tolist():
        if v is None or (isinstance(v, float) and np.isnan(v)):
            out.append(None)
            continue
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        text = str(v).strip()
        out.append(None if text in nulls or text == "" else text)
    return pd.Series(out, index=values.index, dtype=object)


def _evaluate(spec, frame: pd.DataFrame, mapping: Mapping) -> pd.Series:
    nulls = mapping.null_values
    if isinstance(spec, str):
        return _as_text(frame[spec], nulls)
    if "value" in spec:
        return pd.Series([None if spec["value"] is None else str(spec["value"])] * len(frame),
                         index=frame.index, dtype=object)
    if "column" in spec:
        values = _as_text(frame[spec["column"]], nulls | set(spec.get("null_values", [])))
        if "map" in spec:
            table = {str(k): (None if v is None else str(v)) for k, v in spec["map"].items()}
            default = spec.get("default", "__keep__")
            values = pd.Series([table.get(v, v if default == "__keep__" else default) if v is not None
                                else (None if default == "__keep__" else default) for v in values],
                               index=frame.index, dtype=object)
        elif "default" in spec:
            values = values.where(values.notna(), spec["default"])
        if spec.get("prefix"):
            values = pd.Series([None if v is None else spec["prefix"] + v for v in values], index=frame.index, dtype=object)
        return values
    if "columns" in spec:
        parts = [_as_text(frame[c], nulls) for c in spec["columns"]]
        joiner = spec.get("join", "-")
        joined = [None if all(p is None for p in row) else joiner.join(p or "" for p in row) for row in zip(*parts)]
        return pd.Series(joined, index=frame.index, dtype=object)
    if "first" in spec:
        result = pd.Series([None] * len(frame), index=frame.index, dtype=object)
        for sub in spec["first"]:
            result = result.where(result.notna(), _evaluate(sub, frame, mapping))
        return result
    if "rules" in spec:
        return apply_rules(load_rules(spec["rules"], mapping), frame, nulls)
    raise InvalidInput(f"mapping {mapping.name}: cannot understand field spec {spec!r}")


# --- category rules (e.g. DansMaRue type/sous-type → OVA category) ---

def load_rules(source, mapping: Mapping) -> dict:
    """Rules from a YAML file next to the mapping, or inline ``{columns, rules, default}``."""
    if isinstance(source, str):
        path = (mapping.base_dir / source)
        if not path.exists():
            raise InvalidInput(f"mapping {mapping.name}: rules file {source} not found")
        source = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(source, dict) or "rules" not in source:
        raise InvalidInput(f"mapping {mapping.name}: rules need 'columns', 'rules' and 'default'")
    return source


def _matches(condition, value: str | None) -> bool:
    if isinstance(condition, dict):
        if value is None:
            return False
        if "contains" in condition:
            needles = condition["contains"]
            needles = [needles] if isinstance(needles, str) else needles
            return any(n.lower() in value.lower() for n in needles)
        if "in" in condition:
            return value in condition["in"]
        raise InvalidInput(f"unknown rule condition {condition!r} (use contains or in)")
    return value == str(condition)


def apply_rules(rules: dict, frame: pd.DataFrame, nulls: set[str]) -> pd.Series:
    """First matching rule wins; evaluated once per distinct combination of the rule columns."""
    columns = rules["columns"]
    keys = pd.DataFrame({c: _as_text(frame[c], nulls) for c in columns}, index=frame.index)
    decided: dict[tuple, str] = {}
    for combo in set(map(tuple, keys.itertuples(index=False, name=None))):
        values = dict(zip(columns, combo))
        decided[combo] = next((r["category"] for r in rules["rules"]
                               if all(_matches(cond, values.get(col)) for col, cond in r["when"].items())),
                              rules.get("default"))
    return pd.Series([decided[tuple(row)] for row in keys.itertuples(index=False, name=None)],
                     index=frame.index, dtype=object)


# --- registry of presets ---

def available_presets() -> list[str]:
    """Names of the shipped presets."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yml") if not p.stem.endswith("_categories"))


#: Target fields a mapping may name otherwise: target → {name in the mapping: field}. An
#: incident's ``expected_at`` in a mapping is the source's own deadline, kept apart from the
#: deadline the portal computes from its norms (``norms.deadlines``).
FIELD_ALIASES = {"incidents": {"expected_at": "source_expected_at"}}


def load_mapping(*, preset: str | None = None, mapping_file: str | Path | None = None) -> Mapping:
    """A preset by name, or a city's own mapping file (exactly one of the two)."""
    if (preset is None) == (mapping_file is None):
        raise InvalidInput("give either a preset (--preset) or a mapping file (--mapping)")
    if preset is not None:
        path = PRESETS_DIR / f"{preset}.yml"
        if preset not in available_presets():
            raise InvalidInput(f"unknown preset '{preset}' (known: {', '.join(available_presets())})")
    else:
        path = Path(mapping_file)
        if not path.exists():
            raise InvalidInput(f"mapping file {path} not found")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise InvalidInput(f"mapping file {path}: invalid YAML ({err})") from err
    for key in ("target", "fields"):
        if not isinstance(document, dict) or key not in document:
            raise InvalidInput(f"mapping file {path}: missing '{key}'")
    fields = dict(document["fields"] or {})
    for alias, name in FIELD_ALIASES.get(document["target"], {}).items():
        if alias in fields:
            if name in fields:
                raise InvalidInput(f"mapping file {path}: '{alias}' and '{name}' name the same field")
            fields[name] = fields.pop(alias)
    return Mapping(name=path.stem, target=document["target"], fields=fields,
                   source=document.get("source"), read=document.get("read") or {},
                   base_dir=path.parent, description=document.get("description"))
