"""Readers: turn a published file into chunks of rows, and report what was detected.

Formats are a registry (``READERS``), chosen from the file name and, for ``.json``, from the
first bytes. Every reader yields pandas DataFrames with a 1-based ``_row`` column (the row or
feature number a user sees in the file); vector readers add a ``geometry`` column of shapely
geometries and report the file's CRS. CSV values stay strings: numbers and dates are parsed
by the transform step, which knows the target types.
"""
from __future__ import annotations

import codecs
import csv
import json
import logging
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyogrio
import shapely

from ova.errors import DataFileError

LOGGER = logging.getLogger(__name__)
CHUNK_ROWS = 200_000
_SAMPLE_BYTES = 256 * 1024
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")


@dataclass
class Detected:
    """What a reader found out about a file, reported to the user."""

    format: str
    encoding: str | None = None
    separator: str | None = None
    decimal: str | None = None
    crs: str | None = None
    layer: str | None = None
    rows: int | None = None
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """One line: ``format=csv encoding=cp1252 separator=';' decimal=',' …``."""
        parts = [f"format={self.format}"]
        for name in ("layer", "encoding", "separator", "decimal", "crs", "rows"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value!r}" if name in ("separator", "decimal") else f"{name}={value}")
        return " ".join(parts + self.notes)


class Reader:
    """Base reader: ``detect()`` fills ``detected``; ``chunks()`` yields DataFrames with ``_row``."""

    format = "?"

    def __init__(self, path: Path, *, layer: str | None = None, chunk_rows: int = CHUNK_ROWS):
        self.path = path
        self.layer = layer
        self.chunk_rows = chunk_rows
        self.detected = Detected(self.format)
        #: Row count when known or estimated before reading (progress bars only).
        self.estimated_rows: int | None = None

    def chunks(self) -> Iterator[pd.DataFrame]:  # pragma: no cover - contract
        raise NotImplementedError

    def fail(self, message: str, **where) -> DataFileError:
        return DataFileError(self.path, message, **where)


# --- vector files (GDAL through pyogrio, Arrow batches) ---

class VectorReader(Reader):
    """GeoJSON, Shapefile (file, folder or .zip), GeoPackage: streamed as Arrow batches."""

    format = "vector"

    def _source(self) -> str:
        if self.path.suffix.lower() == ".zip":
            with zipfile.ZipFile(self.path) as archive:
                shps = [n for n in archive.namelist() if n.lower().endswith(".shp")]
            if not shps:
                raise self.fail("no .shp file in the archive")
            return f"/vsizip/{self.path}/{shps[0]}"
        return str(self.path)

    def _pick_layer(self, source: str) -> str | None:
        try:
            layers = [name for name, _ in pyogrio.list_layers(source)]
        except Exception as err:
            raise self.fail(f"cannot read the file ({_short(err)})") from err
        if self.layer is not None:
            if self.layer not in layers:
                raise self.fail(f"no layer '{self.layer}' (layers: {', '.join(layers)})", field="layer")
            return self.layer
        if len(layers) > 1:
            raise self.fail(f"several layers ({', '.join(layers)}): choose one with --layer")
        return layers[0] if layers else None

    def chunks(self) -> Iterator[pd.DataFrame]:
        source = self._source()
        layer = self._pick_layer(source)
        try:
            info = pyogrio.read_info(source, layer=layer)
        except Exception as err:
            raise self.fail(f"cannot read the file ({_short(err)})") from err
        kind = {".gpkg": "gpkg", ".zip": "shapefile-zip", ".shp": "shapefile"}.get(
            self.path.suffix.lower(), "shapefile" if self.path.is_dir() else "geojson")
        self.detected.format = kind
        self.detected.layer = layer if kind == "gpkg" else None
        self.detected.crs = info.get("crs")
        self.detected.rows = info.get("features")
        self.estimated_rows = self.detected.rows
        offset = 0
        try:
            with pyogrio.raw.open_arrow(source, layer=layer, batch_size=self.chunk_rows, use_pyarrow=True) as (meta, stream):
                geometry_name = meta.get("geometry_name") or "wkb_geometry"
                for batch in stream:
                    frame = batch.to_pandas()
                    wkb = frame.pop(geometry_name) if geometry_name in frame.columns else None
                    frame["geometry"] = shapely.from_wkb(wkb.to_numpy()) if wkb is not None else None
                    frame.insert(0, "_row", range(offset + 1, offset + len(frame) + 1))
                    offset += len(frame)
                    yield frame
        except DataFileError:
            raise
        except Exception as err:
            raise self.fail(f"cannot read the file after row {offset} ({_short(err)})", row=offset + 1) from err


# --- CSV, as French open data is really published ---

def _detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as err:
        if err.start >= len(sample) - 3:  # a multi-byte character cut by the sample's end
            return "utf-8"
        return "cp1252"


def _detect_separator(lines: list[str]) -> str:
    header = lines[0]
    candidates = [";", ",", "\t", "|"]
    try:
        return csv.Sniffer().sniff("\n".join(lines[:50]), delimiters="".join(candidates)).delimiter
    except csv.Error:
        return max(candidates, key=header.count)


class CsvReader(Reader):
    """Delimited text: separator, encoding and decimal comma detected from the first 256 KiB."""

    format = "csv"

    def detect(self) -> None:
        with open(self.path, "rb") as handle:
            sample = handle.read(_SAMPLE_BYTES)
        if not sample.strip():
            raise self.fail("the file is empty")
        encoding = _detect_encoding(sample)
        text = sample.decode(encoding, errors="ignore")
        lines = [line for line in text.splitlines() if line.strip()]
        if len(sample) == _SAMPLE_BYTES and len(lines) > 1:
            lines = lines[:-1]  # the last sampled line may be cut
        separator = _detect_separator(lines)
        rows = list(csv.reader(lines[1:200], delimiter=separator))
        comma_numbers = sum(1 for row in rows for value in row if _DECIMAL_COMMA.match(value.strip()))
        self.detected.encoding = encoding
        self.detected.separator = separator
        self.detected.decimal = "," if separator != "," and comma_numbers else "."
        if len(lines) < 2:
            raise self.fail("no data rows (header only)")
        sample_lines = sample.count(b"\n") or 1
        self._row_bytes = len(sample) / sample_lines
        self.estimated_rows = int(self.path.stat().st_size / self._row_bytes) - 1

    def chunks(self) -> Iterator[pd.DataFrame]:
        self.detect()
        encoding, separator = self.detected.encoding, self.detected.separator
        with open(self.path, encoding=encoding, newline="") as handle:
            header = next(csv.reader(handle, delimiter=separator), [])
        names = _unique([str(c).strip() for c in header])
        # Arrow's streaming reader: every column read as text (empty stays ""), blocks sized to
        # about ``chunk_rows`` rows so memory stays bounded.
        options = (pacsv.ReadOptions(column_names=names, skip_rows=1, encoding=encoding, use_threads=False,
                                     block_size=max(1 << 20, int(self.chunk_rows * self._row_bytes))),
                   pacsv.ParseOptions(delimiter=separator, invalid_row_handler=self._invalid_row),
                   pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                                        quoted_strings_can_be_null=False))
        offset = 0
        try:
            with pacsv.open_csv(self.path, *options) as stream:
                for batch in stream:
                    frame = batch.to_pandas(types_mapper=_TEXT.get)
                    frame.insert(0, "_row", range(offset + 2, offset + len(frame) + 2))  # line 1 is the header
                    offset += len(frame)
                    yield frame
        except (pa.ArrowInvalid, UnicodeDecodeError, ValueError) as err:
            bad = getattr(self, "_bad_row", None)
            if bad is not None and bad.number is not None:  # Arrow counts the header as row 1 too
                raise self.fail(f"expected {bad.expected_columns} fields, got {bad.actual_columns}",
                                row=bad.number) from err
            raise self.fail(f"cannot parse the CSV after row {offset + 1} ({_short(err)})", row=offset + 2) from err
        self.detected.rows = offset

    def _invalid_row(self, row) -> str:
        self._bad_row = row
        return "error"


#: Arrow text → pandas' Arrow-backed strings (vectorised string operations downstream).
_TEXT = {pa.string(): pd.StringDtype("pyarrow", na_value=float("nan"))}


def _unique(names: list[str]) -> list[str]:
    """Column names made unique as pandas does (``a``, ``a.1``, ``a.2``)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        seen.setdefault(name, 0)
        out.append(name)
    return out


# --- JSON documents: DECP and Open311 ---

class DecpJsonReader(Reader):
    """DECP official JSON (``{"marches": [...]}``): one row per contract × titulaire."""

    format = "decp-json"

    def chunks(self) -> Iterator[pd.DataFrame]:
        document = _load_json(self)
        marches = document.get("marches", document) if isinstance(document, dict) else document
        if isinstance(marches, dict):  # {"marches": {"marche": [...]}} in some exports
            marches = marches.get("marche", [])
        rows = []
        for number, marche in enumerate(marches, start=1):
            acheteur = marche.get("acheteur") or {}
            lieu = marche.get("lieuExecution") or {}
            titulaires = marche.get("titulaires") or [{}]
            if isinstance(titulaires, dict):
                titulaires = titulaires.get("titulaire", [{}])
            for titulaire in titulaires:
                titulaire = titulaire.get("titulaire", titulaire)
                rows.append({
                    "_row": number, "uid": marche.get("uid"), "id": marche.get("id"),
                    "acheteur_id": acheteur.get("id"), "acheteur_nom": acheteur.get("nom"),
                    "nature": marche.get("nature"), "objet": marche.get("objet"),
                    "codeCPV": marche.get("codeCPV"), "procedure": marche.get("procedure"),
                    "lieu_code": lieu.get("code"), "lieu_type": lieu.get("typeCode"),
                    "dureeMois": marche.get("dureeMois"), "dateNotification": marche.get("dateNotification"),
                    "montant": marche.get("montant"), "titulaire_id": titulaire.get("id"),
                    "titulaire_type": titulaire.get("typeIdentifiant"),
                    "titulaire_nom": titulaire.get("denominationSociale"),
                })
        self.detected.rows = len(rows)
        yield _as_text_frame(rows)


class Open311Reader(Reader):
    """Open311 GeoReport v2 ``requests.json``: a list of service requests with lat/long."""

    format = "open311"

    def chunks(self) -> Iterator[pd.DataFrame]:
        document = _load_json(self)
        if isinstance(document, dict):
            document = document.get("service_requests", document.get("requests", []))
        rows = [{"_row": n, **dict.fromkeys(OPEN311_FIELDS),
                 **{k: v for k, v in item.items() if not isinstance(v, (dict, list))}}
                for n, item in enumerate(document, start=1)]
        self.detected.rows = len(rows)
        yield _as_text_frame(rows)


#: The fields of a GeoReport v2 service request: always columns, even when no request has one
#: (most are optional in the specification, e.g. ``expected_datetime``).
OPEN311_FIELDS = ("service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url")


def _as_text_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for column in frame.columns:
        if column != "_row":
            frame[column] = [None if v is None or (isinstance(v, float) and v != v) else str(v)
                             for v in frame[column]]  # a key absent from a record is NaN in the frame
    return frame


def _load_json(reader: Reader):
    try:
        with open(reader.path, "rb") as handle:
            raw = handle.read()
        if not raw.strip():
            raise reader.fail("the file is empty")
        return json.loads(raw.decode(_detect_encoding(raw[:_SAMPLE_BYTES])))
    except json.JSONDecodeError as err:
        raise reader.fail(f"invalid or truncated JSON at line {err.lineno}, column {err.colno} ({err.msg})") from err


def _short(err: Exception) -> str:
    return str(err).splitlines()[0][:300] if str(err) else type(err).__name__


def _sniff_json(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(4096).decode("utf-8", errors="ignore").lstrip("\ufeff \r\n\t")
    if not head:
        raise DataFileError(path, "the file is empty")
    if '"marches"' in head:
        return "decp-json"
    if head.startswith("[") or '"service_request_id"' in head or '"service_requests"' in head:
        return "open311"
    return "vector"


#: Reader registry: format name → class.
READERS: dict[str, type[Reader]] = {
    "vector": VectorReader,
    "csv": CsvReader,
    "decp-json": DecpJsonReader,
    "open311": Open311Reader,
}

_BY_SUFFIX = {".geojson": "vector", ".shp": "vector", ".zip": "vector", ".gpkg": "vector", ".fgb": "vector",
              ".csv": "csv", ".txt": "csv", ".tsv": "csv"}


def open_reader(path: str | Path, *, format: str | None = None, layer: str | None = None,
                chunk_rows: int = CHUNK_ROWS) -> Reader:
    """The reader for ``path`` (``format`` forces one of ``READERS``)."""
    path = Path(path)
    if not path.exists():
        raise DataFileError(path, "no such file")
    if format is None:
        if path.is_dir():
            format = "vector"
        elif path.suffix.lower() == ".json":
            format = _sniff_json(path)
        else:
            format = _BY_SUFFIX.get(path.suffix.lower())
        if format is None:
            raise DataFileError(path, f"unknown file type '{path.suffix}' (known: {', '.join(sorted(_BY_SUFFIX))}, .json)")
    if format not in READERS:
        raise DataFileError(path, f"unknown format '{format}' (known: {', '.join(READERS)})")
    if path.is_file() and path.stat().st_size == 0:
        raise DataFileError(path, "the file is empty")
    return READERS[format](path, layer=layer, chunk_rows=chunk_rows)
