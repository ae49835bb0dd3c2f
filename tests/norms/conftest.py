"""Small hand-built fixtures for the norm tests: quartiers, zone versions, norms, incidents (SQL only)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

UTC = dt.timezone.utc


class Fixtures:
    """Insert rows with SQL on the test's connection; coordinates in Lambert-93 (central Paris)."""

    def __init__(self, conn):
        self.conn = conn
        self._n = 0

    def quartier(self, code, x0=650000, y0=6860000, size=1000):
        return self.conn.scalar(text(
            "INSERT INTO quartiers (code, name, source, geom) VALUES (:c, :c, 'test', "
            "ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 2154))) RETURNING id"),
            {"c": code, "x0": x0, "y0": y0, "x1": x0 + size, "y1": y0 + size})

    def zone(self, code, quartier_id, valid_from, valid_to=None, box=(650000, 6860000, 650500, 6860500),
             status="approved"):
        return self.conn.scalar(text(
            "INSERT INTO priority_zones (code, name, quartier_id, valid_from, valid_to, status, geom) VALUES "
            "(:c, :c, :q, :vf, :vt, :s, ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 2154))) RETURNING id"),
            {"c": code, "q": quartier_id, "vf": valid_from, "vt": valid_to, "s": status,
             "x0": box[0], "y0": box[1], "x1": box[2], "y1": box[3]})

    def norm(self, code, metric="response_delay", scope="territory", hours=48, categories=("graffiti",),
             tache="EP2", **extra):
        params = {"code": code, "metric": metric, "scope": scope, "hours": hours if metric == "response_delay" else None,
                  "cats": list(categories) if metric == "response_delay" else [], "quartier_id": None,
                  "zone_code": None, "valid_from": dt.date(2020, 1, 1), "valid_to": None, "min_sample": None,
                  "target_rate": 0.9, "activity_kind": None, "events_required": None, "period": None,
                  "tache": tache, "producer_id": None}
        params.update(extra)
        return self.conn.scalar(text(
            "INSERT INTO norms (code, tache_code, label_fr, label_en, metric, scope, quartier_id, zone_code, "
            "category_codes, delay_value, activity_kind, events_required, period, target_rate, min_sample, "
            "valid_from, valid_to, producer_id) VALUES (:code, :tache, :code, :code, :metric, :scope, :quartier_id, "
            ":zone_code, :cats, :hours, :activity_kind, :events_required, :period, :target_rate, :min_sample, "
            ":valid_from, :valid_to, :producer_id) RETURNING id"), params)

    def incident(self, reported_at, resolved_at=None, *, category="graffiti", quartier_id=None, zone_id=None,
                 xy=(650100, 6860100), status=None, simulated=False):
        self._n += 1
        status = status or ("resolved" if resolved_at else "new")
        return self.conn.scalar(text(
            "INSERT INTO incidents (source, external_id, category, reported_at, resolved_at, status, "
            "quartier_id, zone_id, times_simulated, geom) VALUES ('test', :e, :c, :r, :res, :s, :q, :z, :sim, "
            "ST_SetSRID(ST_MakePoint(:x, :y), 2154)) RETURNING id"),
            {"e": f"t{self._n}", "c": category, "r": reported_at, "res": resolved_at, "s": status,
             "q": quartier_id, "z": zone_id, "sim": simulated, "x": xy[0], "y": xy[1]})

    def activity(self, kind, occurred_at, quartier_id, zone_id=None):
        return self.conn.scalar(text(
            "INSERT INTO activities (kind, quartier_id, zone_id, occurred_at, source) "
            "VALUES (:k, :q, :z, :t, 'test') RETURNING id"),
            {"k": kind, "q": quartier_id, "z": zone_id, "t": occurred_at})

    def results(self, norm_id, **where):
        clauses = " ".join(f"AND {k} = :{k}" for k in where)
        rows = self.conn.execute(text(
            f"SELECT * FROM compliance_results WHERE norm_id = :n {clauses} ORDER BY month, zone_id NULLS FIRST"),
            {"n": norm_id, **where}).mappings().all()
        return [dict(r) for r in rows]


class Shops:
    """Establishments inserted with SQL, placed in a quartier (Lambert-93 coordinates)."""

    def __init__(self, conn, quartier_id):
        self.conn, self.quartier_id, self.n = conn, quartier_id, 0

    def add(self, x, y, naf="47.11B", name=None, closed_on=None, precision="address"):
        self.n += 1
        return self.conn.scalar(text(
            "INSERT INTO establishments (source, external_id, siren, name, naf_code, closed_on, geo_precision, "
            "quartier_id, geom) VALUES ('test', :e, '123456789', :name, :naf, :closed, :p, :q, "
            "ST_SetSRID(ST_MakePoint(:x, :y), 2154)) RETURNING id"),
            {"e": f"s{self.n}", "name": name or f"Commerce {self.n}", "naf": naf, "closed": closed_on,
             "p": precision, "q": self.quartier_id, "x": x, "y": y})

    def grid(self, x0, y0, count, step=10, **kw):
        return [self.add(x0 + (i % 4) * step, y0 + (i // 4) * step, **kw) for i in range(count)]

    def two_clusters_and_noise(self, x0=650000, y0=6860000):
        """In a 1 km² quartier at (x0, y0): a retail street of 10 shops, a food square of 6 plus one shop,
        and what must not count (isolated shops, dense offices, closed shops, centroid placements, shops
        stacked on one address).

        Returns the ids of the street's and of the square's establishments (with distance 30 m,
        minimum 5: exactly these two candidates)."""
        street = self.grid(x0 + 100, y0 + 100, 10, name="Épicerie <b>fine</b>")
        square = self.grid(x0 + 700, y0 + 700, 6, naf="56.10C", name='Kebab "<img src=x onerror=alert(1)>"')
        self.add(x0 + 400, y0 + 400)                                    # noise: isolated shops
        self.add(x0 + 900, y0 + 100)
        self.add(x0 + 150, y0 + 900)
        self.add(x0 + 730, y0 + 730)                                    # joins the food square
        self.grid(x0 + 500, y0 + 100, 8, naf="62.01Z")                  # dense offices: not commerce
        self.grid(x0 + 300, y0 + 700, 8, closed_on=dt.date(2020, 1, 1))  # closed shops
        self.grid(x0 + 550, y0 + 550, 8, precision="commune_centroid")  # placed at a centroid, not an address
        for _ in range(8):                                              # one address: a building, not a zone
            self.add(x0 + 300, y0 + 300, naf="56.10C")
        return street, square


@pytest.fixture
def fx(connection):
    return Fixtures(connection)
