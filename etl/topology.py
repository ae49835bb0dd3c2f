"""Topology of quartiers: within one commune they must not overlap, and should leave no gap.

An overlap counts every incident, establishment and compliance figure of the shared area in two
quartiers (a quartier duplicated under another code is the usual cause). :func:`check_quartiers`
runs set-based in PostGIS on the quartiers as they will be after the load (the file's rows, and
the quartiers already stored whose code the file does not hold), commune by commune
(``commune_insee``; quartiers without one form one group):

- overlaps above the tolerance (default :data:`OVERLAP_TOLERANCE_M2`) refuse the load, unless
  ``--allow-overlaps``; smaller ones down to :data:`OVERLAP_REPORT_M2` are warnings; below,
  digitising slivers (shared edges drawn twice, e.g. 0.1 m² in Nantes Métropole's layer) are
  only counted;
- gaps: holes enclosed by a commune's quartiers of at least :data:`GAP_REPORT_M2` are warnings,
  with the quartiers around them. Without commune boundaries in the database, a gap along the
  commune's outer boundary cannot be seen.

Each finding names the codes, the file rows, the area (m², in the projected storage CRS) and a
point in it (longitude/latitude), in the load summary and in the rejects file.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection

from ova.errors import DataFileError
from ova.settings import WEB_SRID

#: Overlap (m²) between two quartiers of one commune above which a load is refused.
OVERLAP_TOLERANCE_M2 = 100.0
#: Overlaps smaller than this (m²) are digitising slivers: counted, not listed.
OVERLAP_REPORT_M2 = 1.0
#: Gaps (holes between a commune's quartiers) from this area (m²) are listed as warnings.
GAP_REPORT_M2 = 100.0
#: Findings listed one by one in the summary (all are in the rejects file).
SUMMARY_LINES = 10


@dataclass
class Finding:
    """An overlap between two quartiers, or a gap among a commune's quartiers."""

    kind: str  # "overlap" | "gap"
    commune: str | None
    codes: tuple[str, ...]
    rows: tuple[int, ...]
    area_m2: float
    where: str  # "lon lat" of a point inside
    share: float | None = None  # overlap / area of the smaller quartier
    above_tolerance: bool = False
    refused: bool = False

    def describe(self) -> str:
        commune = f"commune {self.commune}" if self.commune else "quartiers without commune"
        if self.kind == "overlap":
            state = ("refused" if self.refused else "above the tolerance, allowed by --allow-overlaps"
                     if self.above_tolerance else "under the tolerance (warning)")
            return (f"overlap of {_area(self.area_m2)} between quartiers {' and '.join(self.codes)} ({commune}; "
                    f"{self.share:.1%} of the smaller; around {self.where}): {state}")
        return (f"gap of {_area(self.area_m2)} among quartiers {', '.join(self.codes) or '?'} ({commune}; "
                f"around {self.where}): not covered by any quartier")


def _area(m2: float) -> str:
    if m2 >= 10_000:
        return f"{m2 / 10_000:,.2f} ha".replace(",", " ")
    return f"{m2:,.1f} m²".replace(",", " ")


@dataclass
class Findings:
    """The topology of a quartiers load: overlaps, gaps, and whether the load is refused."""

    tolerance: float
    allowed: bool
    overlaps: list[Finding] = field(default_factory=list)
    gaps: list[Finding] = field(default_factory=list)
    slivers: int = 0
    sliver_area: float = 0.0

    @property
    def refused(self) -> list[Finding]:
        return [f for f in self.overlaps if f.refused]

    @property
    def warnings(self) -> int:
        """Findings that do not refuse the load (counted as warnings)."""
        return len(self.overlaps) + len(self.gaps) - len(self.refused)

    @property
    def rows(self) -> list[Finding]:
        return self.overlaps + self.gaps

    def summary(self) -> dict[str, str]:
        """Lines of the load summary."""
        out: dict[str, str] = {}
        big = [f for f in self.overlaps if f.area_m2 > self.tolerance]
        out["topology: overlaps"] = (
            f"{len(self.overlaps)} (above {_area(self.tolerance)}: {len(big)}"
            + ("; allowed by --allow-overlaps" if big and self.allowed else "")
            + f"; slivers under {_area(OVERLAP_REPORT_M2)}: {self.slivers}, {_area(self.sliver_area)} in all)")
        out["topology: gaps"] = f"{len(self.gaps)} (from {_area(GAP_REPORT_M2)})"
        for number, finding in enumerate(sorted(self.rows, key=lambda f: -f.area_m2)[:SUMMARY_LINES], start=1):
            out[f"  topology {number}"] = finding.describe()
        if len(self.rows) > SUMMARY_LINES:
            out["  topology …"] = f"{len(self.rows) - SUMMARY_LINES} more in the rejects file"
        return out

    def frame(self) -> pd.DataFrame:
        """Rows for the rejects file (``row,field,value,reason``): one per finding and file row."""
        records = []
        for finding in self.rows:
            for row in finding.rows or (None,):
                records.append({"row": row, "field": "geometry",
                                "value": f"{finding.kind} {' / '.join(finding.codes)}: {finding.area_m2:.1f} m²",
                                "reason": finding.describe()})
        return pd.DataFrame(records, columns=["row", "field", "value", "reason"])

    def raise_if_refused(self, path) -> None:
        """DataFileError naming the largest refused overlap (the database is left unchanged)."""
        refused = sorted(self.refused, key=lambda f: -f.area_m2)
        if not refused:
            return
        first = refused[0]
        raise DataFileError(
            path, f"{len(refused)} overlap(s) between quartiers of one commune above {_area(self.tolerance)}; "
                  f"largest: {first.describe()}. Fix the file, or load anyway with --allow-overlaps "
                  f"(every point in an overlap then counts in both quartiers): nothing loaded",
            row=first.rows[0] if first.rows else None, field="geometry")


def check_quartiers(conn: Connection, stage: str, columns: set[str], *, tolerance: float | None = None,
                    allow_overlaps: bool = False) -> Findings:
    """Overlaps and gaps of the quartiers after the load of the staged rows (``stage``: ``_row``,
    ``code``, ``wkb`` and, when mapped, ``commune_insee``)."""
    tolerance = OVERLAP_TOLERANCE_M2 if tolerance is None else tolerance
    findings = Findings(tolerance=tolerance, allowed=allow_overlaps)
    commune = 's."commune_insee"' if "commune_insee" in columns else "NULL::text"
    conn.execute(text("DROP TABLE IF EXISTS etl_topology"))
    conn.execute(text(f"""
        CREATE TEMP TABLE etl_topology AS
        SELECT s._row, s.code, {commune} AS commune, s.wkb::geometry AS geom FROM {stage} s
        UNION ALL
        SELECT NULL, q.code, q.commune_insee, q.geom FROM quartiers q
        WHERE NOT EXISTS (SELECT FROM {stage} s WHERE s.code = q.code)"""))
    conn.execute(text("CREATE INDEX ON etl_topology USING gist (geom)"))
    conn.execute(text("ANALYZE etl_topology"))
    overlaps = conn.execute(text(f"""
        SELECT a.code, b.code, a._row, b._row, a.commune, o.area,
               o.area / NULLIF(least(ST_Area(a.geom), ST_Area(b.geom)), 0) AS share,
               ST_AsText(ST_Transform(ST_PointOnSurface(o.shape), {WEB_SRID}), 6)
        FROM etl_topology a
        JOIN etl_topology b ON a.code < b.code AND a.commune IS NOT DISTINCT FROM b.commune
             AND a.geom && b.geom AND ST_Intersects(a.geom, b.geom)
        CROSS JOIN LATERAL (SELECT ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3) AS shape) i
        CROSS JOIN LATERAL (SELECT i.shape, ST_Area(i.shape) AS area) o
        WHERE (a._row IS NOT NULL OR b._row IS NOT NULL) AND o.area > 0
        ORDER BY o.area DESC""")).all()
    for code_a, code_b, row_a, row_b, group, area, share, where in overlaps:
        if area < OVERLAP_REPORT_M2:
            findings.slivers += 1
            findings.sliver_area += area
            continue
        findings.overlaps.append(Finding(
            "overlap", group, (code_a, code_b), tuple(r for r in (row_a, row_b) if r is not None), float(area),
            _point(where), share=float(share or 0), above_tolerance=area > tolerance,
            refused=area > tolerance and not allow_overlaps))
    gaps = conn.execute(text(f"""
        WITH communes AS (
            SELECT commune, ST_Union(geom) AS cover FROM etl_topology GROUP BY commune
            HAVING bool_or(_row IS NOT NULL)),
        holes AS (
            SELECT c.commune, ST_MakePolygon(ST_InteriorRingN(p.geom, n)) AS hole
            FROM communes c
            CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(c.cover, 3)) p
            CROSS JOIN LATERAL generate_series(1, ST_NumInteriorRings(p.geom)) n)
        SELECT h.commune, ST_Area(h.hole),
               ST_AsText(ST_Transform(ST_PointOnSurface(h.hole), {WEB_SRID}), 6),
               array_agg(DISTINCT t.code ORDER BY t.code) FILTER (WHERE t.code IS NOT NULL),
               array_agg(DISTINCT t._row) FILTER (WHERE t._row IS NOT NULL)
        FROM holes h
        LEFT JOIN etl_topology t ON t.commune IS NOT DISTINCT FROM h.commune
             AND t.geom && ST_Expand(h.hole, 1) AND ST_DWithin(t.geom, h.hole, 0.5)
        WHERE ST_Area(h.hole) >= :gap
        GROUP BY h.commune, h.hole
        ORDER BY ST_Area(h.hole) DESC"""), {"gap": GAP_REPORT_M2}).all()
    for group, area, where, codes, rows in gaps:
        findings.gaps.append(Finding("gap", group, tuple(codes or ()), tuple(sorted(rows or ())), float(area),
                                     _point(where)))
    conn.execute(text("DROP TABLE etl_topology"))
    return findings


def _point(wkt: str | None) -> str:
    """``POINT(2.35 48.85)`` → ``2.35 48.85`` (lon lat)."""
    return (wkt or "").removeprefix("POINT(").removesuffix(")")
