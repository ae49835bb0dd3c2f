"""Readers: turn a published file into chunks of rows, and report what was detected.

Formats are a registry (``READERS``), chosen from the file name and, for ``.json``, from the
first bytes. Every reader yields pandas DataFrames with a 1-based ``_row`` column (the row or
feature number a user sees in the file); vector readers add a ``geometry`` column of shapely
geometries (2D) and report the file's CRS. CSV values stay strings: numbers and dates are parsed
by the transform step, which knows the target types. Spreadsheet cells are typed; they are
passed on as the text of their value (ISO 8601 dates, ``12`` for an integral number), so a date
cell is never read day-first and a number never loses digits to a display format.
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

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyogrio
import shapely

from ova import spreadsheets
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
        #: Warnings the reading library gave outside Python's warnings (counted in the summary).
        self.library_warnings: list[str] = []

    def chunks(self) -> Iterator[pd.DataFrame]:  # pragma: no cover - contract
        raise NotImplementedError

    def fail(self, message: str, **where) -> DataFileError:
        return DataFileError(self.path, message, **where)


# --- vector files (GDAL through pyogrio, Arrow batches) ---

class VectorReader(Reader):
    """GeoJSON, Shapefile (file, folder or .zip), GeoPackage, KML/KMZ, FlatGeobuf, GML: streamed
    as Arrow batches. A KML's folders are its layers: ``layer`` picks one, else all are read one
    after the other with their name in a ``folder`` column."""

    format = "vector"
    #: Formats whose layers are parts of one dataset (read together when no layer is chosen).
    MERGED_LAYERS = ("kml", "kmz")
    #: GDAL open options: never write a .gfs file beside the user's GML.
    OPEN_OPTIONS = {".gml": {"WRITE_GFS": "NO"}}

    def _source(self) -> str:
        if self.path.suffix.lower() == ".zip":
            with zipfile.ZipFile(self.path) as archive:
                shps = [n for n in archive.namelist() if n.lower().endswith(".shp")]
            if not shps:
                raise self.fail("no .shp file in the archive")
            return f"/vsizip/{self.path}/{shps[0]}"
        return str(self.path)

    def _kind(self) -> str:
        suffix = self.path.suffix.lower()
        if self.path.is_dir():
            return "shapefile"
        return {".gpkg": "gpkg", ".zip": "shapefile-zip", ".shp": "shapefile", ".kml": "kml", ".kmz": "kmz",
                ".fgb": "flatgeobuf", ".gml": "gml"}.get(suffix, "geojson")

    def _pick_layers(self, source: str, kind: str) -> list[str | None]:
        options = self.OPEN_OPTIONS.get(self.path.suffix.lower(), {})
        try:
            listed = pyogrio.list_layers(source)
        except Exception as err:
            raise self.fail(f"cannot read the file ({_short(err)})") from err
        layers = [str(name) for name, _ in listed]
        if self.layer is not None:
            if self.layer not in layers:
                raise self.fail(f"no layer '{self.layer}' (layers: {', '.join(layers)})", field="layer")
            return [self.layer]
        if kind in self.MERGED_LAYERS:
            counts = {name: _feature_count(source, name, options) for name in layers}
            filled = [name for name in layers if counts[name]]
            if len(filled) > 1:
                self.detected.notes.append("folders=" + "|".join(f"{name}:{counts[name]}" for name in filled))
            return filled or layers[:1]
        if len(layers) > 1:
            raise self.fail(f"several layers ({', '.join(layers)}): choose one with --layer")
        return layers[:1] or [None]

    def chunks(self) -> Iterator[pd.DataFrame]:
        source = self._source()
        kind = self._kind()
        options = self.OPEN_OPTIONS.get(self.path.suffix.lower(), {})
        layers = self._pick_layers(source, kind)
        infos = []
        for layer in layers:
            try:
                infos.append(pyogrio.read_info(source, layer=layer, **options))
            except Exception as err:
                raise self.fail(f"cannot read the file ({_short(err)})") from err
        crss = {info.get("crs") for info in infos}
        if len(crss) > 1:
            raise self.fail(f"the layers declare different CRSs ({', '.join(sorted(map(str, crss)))})", field="layer")
        self.detected.format = kind
        self.detected.layer = layers[0] if kind in ("gpkg", "kml", "kmz", "gml") and len(layers) == 1 else None
        self.detected.crs = infos[0].get("crs")
        counts = [info.get("features") for info in infos]
        self.detected.rows = sum(counts) if all(c is not None and c >= 0 for c in counts) else None
        self.estimated_rows = self.detected.rows
        folder = None
        if kind in self.MERGED_LAYERS and len(layers) > 1:
            fields = {str(f) for info in infos for f in info.get("fields", [])}
            folder = "folder" if "folder" not in fields else "kml_folder"
        offset = 0
        dropped_z = 0
        for layer in layers:
            try:
                with pyogrio.raw.open_arrow(source, layer=layer, batch_size=self.chunk_rows, use_pyarrow=True,
                                            **options) as (meta, stream):
                    geometry_name = meta.get("geometry_name") or "wkb_geometry"
                    for batch in stream:
                        frame = batch.to_pandas()
                        wkb = frame.pop(geometry_name) if geometry_name in frame.columns else None
                        geoms = shapely.from_wkb(wkb.to_numpy()) if wkb is not None else None
                        if geoms is not None:
                            geoms, flattened = _plain_geometries(geoms)
                            dropped_z += flattened
                        frame["geometry"] = geoms
                        if folder:
                            frame[folder] = layer
                        frame.insert(0, "_row", range(offset + 1, offset + len(frame) + 1))
                        offset += len(frame)
                        yield frame
            except DataFileError:
                raise
            except Exception as err:
                raise self.fail(f"cannot read the file after row {offset} ({_short(err)})", row=offset + 1) from err
        if dropped_z:
            self.detected.notes.append(f"z-dropped={dropped_z}")


def _feature_count(source: str, layer: str, options: dict) -> int:
    try:
        count = pyogrio.read_info(source, layer=layer, **options).get("features")
    except Exception:  # an unreadable folder is reported when it is read
        return 1
    return 1 if count is None or count < 0 else count


def _plain_geometries(geoms: np.ndarray) -> tuple[np.ndarray, int]:
    """2D geometries; a collection of only polygons (or only points) as a MultiPolygon (MultiPoint),
    as KML's ``MultiGeometry`` comes. Returns the geometries and how many had a Z dropped."""
    present = ~shapely.is_missing(geoms)
    has_z = np.zeros(len(geoms), dtype=bool)
    has_z[present] = shapely.has_z(geoms[present])
    if has_z.any():
        geoms = geoms.copy()
        geoms[has_z] = shapely.force_2d(geoms[has_z])
    kinds = np.full(len(geoms), -1)
    kinds[present] = shapely.get_type_id(geoms[present])
    for index in np.flatnonzero(kinds == 7):
        parts = shapely.get_parts(geoms[index])
        part_kinds = set(shapely.get_type_id(parts).tolist())
        if part_kinds and part_kinds <= {3, 6}:
            geoms[index] = shapely.MultiPolygon([p for part in parts for p in shapely.get_parts(part)])
        elif part_kinds == {0}:
            geoms[index] = parts[0] if len(parts) == 1 else shapely.MultiPoint(list(parts))
    return geoms, int(has_z.sum())


# --- spreadsheets: typed cells, header row found ---

class SpreadsheetReader(Reader):
    """XLSX and ODS: the first sheet or ``layer`` (``--sheet``); the header row is found below any
    title rows; cells keep their types and are passed on as text (ISO 8601, integral numbers
    without ``.0``)."""

    format = "spreadsheet"

    def chunks(self) -> Iterator[pd.DataFrame]:
        sheet = spreadsheets.open_sheet(self.path, self.layer)
        self.detected.format = self.path.suffix.lower().lstrip(".")
        self.detected.layer = sheet.name
        self.detected.notes.append(f"header=row {sheet.header_row}")
        self.library_warnings = sheet.library_warnings
        rows = 0
        batch: list[tuple[int, list]] = []
        try:
            for item in sheet.rows:
                batch.append(item)
                if len(batch) >= self.chunk_rows:
                    rows += len(batch)
                    yield _sheet_frame(sheet.columns, batch)
                    batch = []
        except DataFileError:
            raise
        except Exception as err:  # a damaged archive or XML discovered while streaming
            raise self.fail(f"cannot read the sheet after row {batch[-1][0] if batch else sheet.header_row} "
                            f"({_short(err)})") from err
        if batch or not rows:
            rows += len(batch)
            yield _sheet_frame(sheet.columns, batch)
        self.detected.rows = rows


def _sheet_frame(columns: list[str], batch: list[tuple[int, list]]) -> pd.DataFrame:
    frame = pd.DataFrame({"_row": np.array([number for number, _ in batch], dtype=np.int64)})
    for position, name in enumerate(columns):
        frame[name] = pd.Series([spreadsheets.text_value(values[position]) for _, values in batch], dtype=object)
    return frame


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
        names = spreadsheets.unique_names([str(c).strip() for c in header])
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
    "spreadsheet": SpreadsheetReader,
    "csv": CsvReader,
    "decp-json": DecpJsonReader,
    "open311": Open311Reader,
}

_BY_SUFFIX = {".geojson": "vector", ".shp": "vector", ".zip": "vector", ".gpkg": "vector", ".fgb": "vector",
              ".kml": "vector", ".kmz": "vector", ".gml": "vector",
              ".xlsx": "spreadsheet", ".xlsm": "spreadsheet", ".ods": "spreadsheet",
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
