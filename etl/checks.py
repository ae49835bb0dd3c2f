"""Vectorised value checks and normalisers shared by the loaders (no database, no Flask).

Each function takes a pandas Series of strings (``None`` for missing) and returns the normalised
Series plus a boolean mask of values that were present but invalid, so the caller can turn them
into reject rows naming the field.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ova.settings import timezone_name
from ova.territory import METROPOLITAN_FRANCE, current, inside

#: Metropolitan France and Corsica in WGS 84 (lon/lat): the territory of Lambert-93 (ova.territory).
FRANCE_BBOX = METROPOLITAN_FRANCE
#: La Poste's establishments share SIREN 356000000: their SIRETs (except the head office's,
#: which passes Luhn) have a digit sum that is a multiple of 5 instead of a Luhn key.
LA_POSTE_SIREN = "356000000"
LA_POSTE_HEAD_OFFICE = "35600000000048"


def _strings(values: pd.Series) -> pd.Series:
    """``values`` as an Arrow-backed string Series (non-strings are missing), for vectorised ops."""
    if values.dtype == object:
        values = values.where(values.map(type).to_numpy() == str, None)  # noqa: E721 (elementwise) if len(values) else values
    return values.astype("string[pyarrow]")


def _objects(values: pd.Series) -> pd.Series:
    """An object Series with None for missing values (what the loader stages)."""
    return pd.Series(values.to_numpy(dtype=object, na_value=None), index=values.index, dtype=object)


def blank_to_none(values: pd.Series) -> pd.Series:
    """Strip strings and turn empty strings into None (missing)."""
    text = _strings(values).str.strip()
    return _objects(text.where(text != "", None))


def _digits_matrix(values: np.ndarray, width: int) -> np.ndarray:
    return np.frombuffer("".join(values).encode("ascii"), dtype=np.uint8).reshape(-1, width) - 48


def luhn_ok(values: pd.Series, width: int) -> np.ndarray:
    """Luhn check of ``width``-digit strings (all must be exactly ``width`` ASCII digits)."""
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    digits = _digits_matrix(values.to_numpy(dtype=str), width).astype(np.int64)
    doubled = digits[:, ::-1].copy()
    doubled[:, 1::2] *= 2
    doubled[doubled > 9] -= 9
    return doubled.sum(axis=1) % 10 == 0


def normalise_ident(values: pd.Series, width: int) -> tuple[pd.Series, np.ndarray]:
    """SIREN (9) or SIRET (14) numbers: spaces removed, length and Luhn key checked.

    La Poste SIRETs (SIREN 356000000) other than the head office's (35600000000048) do not
    pass Luhn; their rule is that the sum of the 14 digits is a multiple of 5.
    """
    clean = pd.Series([v.replace(" ", "").replace(".", "") if isinstance(v, str) else None
                       for v in blank_to_none(values)], index=values.index, dtype=object)
    present = clean.notna().to_numpy()
    shaped = clean.map(lambda v: isinstance(v, str) and len(v) == width and v.isascii() and v.isdigit()).to_numpy(bool)
    valid = np.zeros(len(clean), dtype=bool)
    if shaped.any():
        subset = clean[shaped]
        ok = luhn_ok(subset, width)
        if width == 14:
            poste = np.array([v.startswith(LA_POSTE_SIREN) and v != LA_POSTE_HEAD_OFFICE for v in subset], dtype=bool)
            sums = _digits_matrix(subset.to_numpy(dtype=str), width).astype(np.int64).sum(axis=1)
            ok = np.where(poste, sums % 5 == 0, ok)
        valid[np.flatnonzero(shaped)] = ok
    invalid = present & ~valid
    return _keep(clean, valid), invalid


def _keep(values: pd.Series, ok) -> pd.Series:
    """``values`` where ``ok``, None elsewhere, as an object Series."""
    out = values.to_numpy(dtype=object, na_value=None) if values.dtype != object else values.to_numpy(copy=True)
    out[~np.asarray(ok, dtype=bool)] = None
    return pd.Series(out, index=values.index, dtype=object)


def normalise_cpv(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """CPV codes as ``NNNNNNNN`` or ``NNNNNNNN-D`` (8 digits and the optional check digit)."""
    clean = blank_to_none(values)
    digits = ["".join(ch for ch in v if ch.isdigit()) if isinstance(v, str) else None for v in clean]
    ok = np.array([d is not None and len(d) in (8, 9) for d in digits], dtype=bool)
    out = [d if d is None or len(d) != 9 else f"{d[:8]}-{d[8]}" for d in digits]
    invalid = clean.notna().to_numpy() & ~ok
    return _keep(pd.Series(out, index=values.index, dtype=object), ok), invalid


def normalise_quarter(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Quarters as ``YYYY-Tn`` from ``2025-T2``, ``T2 2025``, ``2025Q2``, ``2e trimestre 2025`` (once per distinct value)."""
    from indicators.purchases import QUARTER_RE

    clean = blank_to_none(values)
    decided: dict[str, str | None] = {}
    for value in set(v for v in clean if isinstance(v, str)):
        match = QUARTER_RE.match(value)
        decided[value] = (f"{match['y1'] or match['y2'] or match['y3']}-T{match['q1'] or match['q2'] or match['q3']}"
                          if match else None)
    out = [decided.get(v) if isinstance(v, str) else None for v in clean]
    invalid = np.array([isinstance(v, str) and decided.get(v) is None for v in clean], dtype=bool)
    return pd.Series(out, index=values.index, dtype=object), invalid


def _numeric_text(values: pd.Series) -> pd.Series:
    """French-published numbers: spaces (incl. no-break) as thousands separators, decimal comma."""
    text = _strings(values)
    for space in ("\u202f", "\xa0", " "):
        text = text.str.replace(space, "", regex=False)
    text = text.str.replace(",", ".", regex=False)
    return _objects(text.where(text != "", None))


def to_float(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Floats (NaN when missing) and the invalid mask."""
    text = _numeric_text(values)
    # A copy: to_numpy may return a read-only view, and callers blank invalid values in place.
    numbers = np.array(pd.to_numeric(text, errors="coerce"), dtype=float)
    invalid = text.notna().to_numpy() & np.isnan(numbers)
    return numbers, invalid


def normalise_decimal(values: pd.Series, scale: int = 2) -> tuple[pd.Series, np.ndarray]:
    """Amounts as plain decimal strings with ``scale`` digits (``1 234,5`` → ``1234.50``)."""
    numbers, invalid = to_float(values)
    out = pd.Series([None if np.isnan(n) else f"{n:.{scale}f}" for n in numbers], index=values.index, dtype=object)
    return out, invalid


def normalise_int(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Integers (``12``, ``12.0``, ``1 200``); non-integral numbers are invalid."""
    numbers, invalid = to_float(values)
    integral = np.isnan(numbers) | (np.mod(numbers, 1) == 0)
    invalid = invalid | ~integral
    out = pd.Series([None if (np.isnan(n) or not ok) else str(int(n)) for n, ok in zip(numbers, integral)],
                    index=values.index, dtype=object)
    return out, invalid


_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"


def _parse_naive(text: pd.Series) -> pd.Series:
    """ISO 8601 first, then French day-first forms (``17/07/2023 14:05``); naive timestamps."""
    parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
    missing = parsed.isna() & text.notna()
    if missing.any():
        retry = pd.to_datetime(text[missing], errors="coerce", dayfirst=True, format="mixed")
        parsed = parsed.copy()
        parsed[missing] = retry
    return parsed


def parse_datetimes(values: pd.Series) -> pd.Series:
    """UTC timestamps; values without an offset are read as local time of the territory (``OVA_TIMEZONE``)."""
    text = blank_to_none(values)
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
    aware = _strings(text).str.contains(_OFFSET, regex=True).fillna(False).astype(bool)
    if aware.any():
        result[aware] = pd.to_datetime(text[aware], errors="coerce", format="ISO8601", utc=True).dt.as_unit("us")
    naive = ~aware & text.notna()
    if naive.any():
        local = _parse_naive(text[naive])
        result[naive] = (local.dt.tz_localize(timezone_name(), ambiguous=np.zeros(len(local), dtype=bool),
                                              nonexistent="shift_forward")
                         .dt.tz_convert("UTC").dt.as_unit("us"))
    return result


def normalise_datetime(values: pd.Series, *, now: dt.datetime | None = None,
                       allow_future: bool = False) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Timestamps in UTC to the second (see :func:`parse_datetimes`), NaT where invalid or missing.

    Returns (values, invalid mask, in-the-future mask); years before 1900 are invalid (typos
    such as 0218 for 2018 exist in the sources). The values stay typed: the loader's COPY writes
    them as ISO 8601 with ``Z`` (formatting a million of them in Python cost a second).
    """
    text = blank_to_none(values)
    parsed = parse_datetimes(text)
    invalid = (text.notna() & parsed.isna()).to_numpy() | (parsed.dt.year < 1900).fillna(False).to_numpy(bool)
    limit = pd.Timestamp(now or dt.datetime.now(dt.timezone.utc)) + pd.Timedelta(hours=1)
    future = np.zeros(len(text), dtype=bool) if allow_future else (parsed > limit).fillna(False).to_numpy(bool)
    ok = ~invalid & ~future & parsed.notna().to_numpy()
    return parsed.dt.floor("s").dt.as_unit("s").where(ok), invalid, future


def normalise_date(values: pd.Series, *, allow_future: bool = True) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Calendar dates (``2023-07-17``, ``2023-07`` → first of the month, ``17/07/2023``)."""
    text = blank_to_none(values)
    text = pd.Series([v + "-01" if isinstance(v, str) and len(v) == 7 and v[4] == "-" else v for v in text],
                     index=text.index, dtype=object)
    parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
    missing = parsed.isna() & text.notna()
    if missing.any():
        parsed = parsed.astype(object)
        parsed[missing] = pd.to_datetime(text[missing], errors="coerce", dayfirst=True, format="mixed")
        parsed = pd.to_datetime(parsed, errors="coerce")
    invalid = (text.notna() & parsed.isna()).to_numpy() | (parsed.dt.year < 1900).fillna(False).to_numpy(bool)
    today = pd.Timestamp(dt.date.today())
    future = np.zeros(len(text), dtype=bool) if allow_future else (parsed > today).fillna(False).to_numpy(bool)
    ok = ~invalid & ~future & parsed.notna().to_numpy()
    return _keep(parsed.dt.strftime("%Y-%m-%d"), ok), invalid, future


def longer_than(values: pd.Series, limit: int) -> np.ndarray:
    """Mask of strings longer than ``limit`` characters."""
    return (_strings(values).str.len() > limit).fillna(False).to_numpy(dtype=bool)


#: Commune codes by country (ISO 3166): INSEE (5 characters, Corsica 2A/2B), German AGS (8 digits).
COMMUNE_CODES = {
    "FR": (r"(?:\d{5}|2[AB]\d{3})", "an INSEE commune code (5 characters)"),
    "DE": (r"\d{8}", "an AGS commune code (8 digits)"),
}
#: Longest commune code of any other country (the column's width).
COMMUNE_CODE_MAX = 12


def normalise_commune(values: pd.Series, country: str) -> tuple[pd.Series, np.ndarray, str]:
    """Commune codes checked by the rule of ``country``: (values, invalid mask, what was expected).

    France's INSEE codes and Germany's AGS have a form; elsewhere any code up to
    :data:`COMMUNE_CODE_MAX` characters is the territory's own.
    """
    clean = blank_to_none(values)
    text = _strings(clean)
    pattern, expected = COMMUNE_CODES.get(country, (rf".{{1,{COMMUNE_CODE_MAX}}}",
                                                    f"a commune code of at most {COMMUNE_CODE_MAX} characters"))
    ok = text.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
    invalid = clean.notna().to_numpy() & ~ok
    return _keep(clean, ok), invalid, expected


def in_territory(lon: np.ndarray, lat: np.ndarray, extent=None) -> np.ndarray:
    """Whether WGS 84 points fall in the territory's extent (default: that of the storage CRS)."""
    return inside(lon, lat, extent or current().extent)
