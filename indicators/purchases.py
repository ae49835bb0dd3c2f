"""Planned purchases (programmation prévisionnelle des achats): queries, edits, links to the DECP.

A planned purchase belongs to a buyer (SIRET). Agents of a service whose producer carries that
``buyer_siret`` edit it (admins edit all); every change is audited and tells the firms that follow
its CPV division or its commune (``notifications.events.purchases_changed``).

Status: ``planned`` → ``published`` (a notice is out: ``notice_url``) → ``awarded`` (the contract
is in the DECP: ``decp_id``, matched by the buyer and the CPV division/object, or given); a
purchase may be ``cancelled``. Amounts are estimates: ``amount``, or the middle of the band
``amount_min``–``amount_max`` (:data:`ESTIMATE_SQL`).
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import text

from indicators.procurement import CPV_FAMILIES, commune_sql
from notifications.events import purchases_changed
from ova import audit, dataversion
from ova.errors import Forbidden, InvalidInput, NotFound
from ova.i18n import gettext as _
from ova.models import PURCHASE_STATUSES, PlannedPurchase

TABLE = "planned_purchases"
#: Source of the rows entered in the portal (files loaded by ``ova load purchases`` keep theirs).
PORTAL_SOURCE = "portail"
#: Statuses of the purchases still to come (shown by default).
OPEN_STATUSES = ("planned", "published")
ESTIMATE_SQL = "coalesce(p.amount, (p.amount_min + p.amount_max) / 2, p.amount_max, p.amount_min)"
QUARTER_RE = re.compile(r"^\s*(?:(?P<y1>\d{4})\s*[-/ ]?\s*[TQ](?P<q1>[1-4])|[TQ](?P<q2>[1-4])\s*[-/ ]?\s*(?P<y2>\d{4})"
                        r"|(?P<q3>[1-4])(?:er|e|ème|eme)?\s+trimestre\s+(?P<y3>\d{4}))\s*$", re.IGNORECASE)
SIRET_RE = re.compile(r"^\d{14}$")
DIVISION_RE = re.compile(r"^\d{2}$")
COMMUNE_RE = re.compile(r"^[0-9][0-9AB][0-9]{3}$")
#: Editable columns (the form's and the file's), besides the place's geometry.
COLUMNS = ("buyer_siret", "buyer_name", "object", "cpv_code", "amount", "amount_min", "amount_max", "expected_on",
           "expected_quarter", "procedure", "lots", "place_commune", "place_quartier", "place_name", "contact",
           "status", "notice_url", "decp_id")


def division_label(division: str | None) -> str:
    """A CPV division in words (``45`` → « Travaux de construction »)."""
    label = CPV_FAMILIES.get(division or "")
    return label if label is not None else _("Division CPV inconnue")


def parse_quarter(value: str | None) -> tuple[str, dt.date] | None:
    """``2025-T2``, ``T2 2025``, ``2e trimestre 2025``, ``2025Q2`` → (``2025-T2``, 1 April 2025); None if empty."""
    if value is None or not str(value).strip():
        return None
    match = QUARTER_RE.match(str(value))
    if not match:
        raise InvalidInput(_("trimestre illisible « %(value)s » (ex. 2025-T2)", value=str(value)[:40]))
    year = int(match["y1"] or match["y2"] or match["y3"])
    quarter = int(match["q1"] or match["q2"] or match["q3"])
    return f"{year}-T{quarter}", dt.date(year, 3 * quarter - 2, 1)


def quarter_of(day: dt.date) -> str:
    return f"{day.year}-T{(day.month - 1) // 3 + 1}"


# --- who may edit --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Editor:
    """Who edits: an account id, the buyer SIRET of its service (agents), and whether it is an admin."""

    user_id: int | None
    buyer_siret: str | None = None
    is_admin: bool = False

    def may_edit(self, buyer_siret: str | None) -> bool:
        """A buyer's agents edit only that buyer's purchases; admins edit all."""
        return self.is_admin or (self.buyer_siret is not None and self.buyer_siret == buyer_siret)


def editor_for(conn, user_id: int, role: str, producer_id: int | None) -> Editor:
    """The :class:`Editor` of an account (its producer's ``buyer_siret``)."""
    buyer = conn.scalar(text("SELECT buyer_siret FROM producers WHERE id = :p"), {"p": producer_id}) \
        if producer_id else None
    return Editor(user_id=user_id, buyer_siret=buyer if role == "agent" else None, is_admin=role == "admin")


# --- reading -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    """Which planned purchases to show: a buyer (or all), a CPV division, a commune, statuses, amounts."""

    buyer: str | None = None
    division: str | None = None
    commune: str | None = None
    statuses: tuple[str, ...] = OPEN_STATUSES
    amount_min: float | None = None
    amount_max: float | None = None
    purchase_id: int | None = None

    def check(self) -> Filters:
        if self.buyer is not None and not SIRET_RE.match(self.buyer):
            raise InvalidInput(_("SIRET d'acheteur invalide « %(value)s » (14 chiffres attendus)", value=self.buyer[:20]))
        if self.division is not None and not DIVISION_RE.match(self.division):
            raise InvalidInput(_("division CPV invalide « %(value)s » (2 chiffres attendus)", value=self.division[:10]))
        if self.commune is not None and not COMMUNE_RE.match(self.commune):
            raise InvalidInput(_("code commune INSEE invalide « %(value)s »", value=self.commune[:10]))
        unknown = set(self.statuses) - set(PURCHASE_STATUSES)
        if unknown:
            raise InvalidInput(_("statut inconnu : %(value)s", value=", ".join(sorted(unknown))[:40]))
        return self

    def where(self) -> tuple[str, dict]:
        """SQL conditions over ``p`` and their binds."""
        self.check()
        clauses = ["p.status = ANY (:statuses)"]
        params: dict = {"statuses": list(self.statuses)}
        if self.buyer:
            clauses.append("p.buyer_siret = :buyer")
            params["buyer"] = self.buyer
        if self.division:
            clauses.append("left(p.cpv_code, 2) = :division")
            params["division"] = self.division
        if self.commune:
            clauses.append(f"{commune_sql('p.place_commune')} = {commune_sql('CAST(:commune AS text)')}")
            params["commune"] = self.commune
        if self.purchase_id is not None:
            clauses.append("p.id = :pid")
            params["pid"] = self.purchase_id
        if self.amount_min is not None:
            clauses.append(f"{ESTIMATE_SQL} >= :amin")
            params["amin"] = self.amount_min
        if self.amount_max is not None:
            clauses.append(f"{ESTIMATE_SQL} <= :amax")
            params["amax"] = self.amount_max
        return " AND ".join(clauses), params


_SELECT = f"""
    SELECT p.id, p.source, p.external_id, p.buyer_siret, p.buyer_name, p.object, p.cpv_code,
           left(p.cpv_code, 2) AS division, p.amount, p.amount_min, p.amount_max, {ESTIMATE_SQL} AS estimate,
           p.expected_on, p.expected_quarter, p.procedure, p.lots, p.place_commune, p.place_quartier,
           coalesce(p.place_name, q.name, p.place_commune) AS place_label, p.place_basis, p.contact, p.status,
           p.notice_url, p.decp_id, p.created_at, p.updated_at
    FROM planned_purchases p
    LEFT JOIN quartiers q ON q.code = p.place_quartier
"""


def _with_labels(rows) -> list[dict]:
    out = []
    for row in rows:
        item = dict(row)
        item["division_label"] = division_label(item["division"])
        out.append(item)
    return out


def list_purchases(conn, filters: Filters, limit: int = 500) -> list[dict]:
    """The planned purchases of ``filters``, soonest first."""
    where, params = filters.where()
    return _with_labels(conn.execute(text(
        f"{_SELECT} WHERE {where} ORDER BY p.expected_on NULLS LAST, p.id LIMIT :limit"),
        {**params, "limit": limit}).mappings())


def get(conn, purchase_id: int) -> dict:
    """One planned purchase, or NotFound."""
    row = conn.execute(text(f"{_SELECT} WHERE p.id = :id"), {"id": purchase_id}).mappings().first()
    if row is None:
        raise NotFound(_("achat prévu introuvable"))
    return _with_labels([row])[0]


def by_division(conn, filters: Filters) -> list[dict]:
    """Count and estimated amount of the planned purchases per CPV division, largest first."""
    where, params = filters.where()
    rows = conn.execute(text(f"""
        SELECT left(p.cpv_code, 2) AS division, count(*) AS purchases, coalesce(sum({ESTIMATE_SQL}), 0) AS amount,
               count(*) FILTER (WHERE {ESTIMATE_SQL} IS NULL) AS without_amount
        FROM planned_purchases p WHERE {where} GROUP BY 1 ORDER BY 3 DESC, 1"""), params).mappings()
    return [{**r, "amount": float(r["amount"]), "label": division_label(r["division"])} for r in rows]


def by_place(conn, filters: Filters) -> list[dict]:
    """Count and estimated amount per place of execution (commune, quartier), largest first."""
    where, params = filters.where()
    rows = conn.execute(text(f"""
        SELECT p.place_commune AS commune, coalesce(q.name, p.place_quartier) AS quartier, count(*) AS purchases,
               coalesce(sum({ESTIMATE_SQL}), 0) AS amount
        FROM planned_purchases p LEFT JOIN quartiers q ON q.code = p.place_quartier
        WHERE {where} GROUP BY 1, 2 ORDER BY 4 DESC, 1, 2"""), params).mappings()
    return [{**r, "amount": float(r["amount"])} for r in rows]


def buyers(conn) -> list[dict]:
    """Buyers with planned purchases, or with a service in the portal, or with DECP contracts (the selector)."""
    return [dict(r) for r in conn.execute(text("""
        SELECT buyer_siret, min(buyer_name) AS buyer_name, sum(planned) AS planned FROM (
            SELECT buyer_siret, buyer_name, 1 AS planned FROM planned_purchases
            UNION ALL SELECT buyer_siret, name, 0 FROM producers WHERE buyer_siret IS NOT NULL
        ) b GROUP BY buyer_siret ORDER BY min(buyer_name), buyer_siret""")).mappings()]


def geojson(conn, filters: Filters) -> str:
    """The planned purchases of ``filters`` as a WGS 84 FeatureCollection (text), built in PostGIS.

    A purchase placed on a whole commune is drawn as a point inside it; a quartier or a drawn area
    as its outline.
    """
    where, params = filters.where()
    return conn.execute(text(f"""
        WITH f AS ({_SELECT.replace('SELECT p.id,', 'SELECT p.geom, p.id,', 1)} WHERE {where} AND p.geom IS NOT NULL)
        SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
            'type', 'Feature', 'id', f.id,
            'geometry', ST_AsGeoJSON(ST_Transform(CASE WHEN f.place_basis = 'commune' THEN ST_PointOnSurface(f.geom)
                                                      ELSE f.geom END, 4326), 6)::json,
            'properties', json_build_object('object', f.object, 'buyer', f.buyer_name, 'cpv', f.cpv_code,
                'division', f.division, 'estimate', round(f.estimate), 'quarter', f.expected_quarter,
                'status', f.status, 'place', f.place_label, 'url', '/achats/a-venir/' || f.id)) ORDER BY f.id), '[]'))::text
        FROM f"""), params).scalar_one()


# --- DECP links ----------------------------------------------------------------------------------

def _words(value: str | None) -> set[str]:
    plain = unicodedata.normalize("NFKD", (value or "").lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return {w for w in re.findall(r"[a-z0-9]{3,}", plain)}


def decp_candidates(conn, purchase: dict, limit: int = 5) -> list[dict]:
    """DECP contracts that may be this purchase once awarded: same buyer and CPV division, notified
    after its creation's quarter, ranked by shared words of the object (Jaccard), then by date."""
    if not purchase.get("division"):
        return []
    rows = conn.execute(text("""
        SELECT decp_id, min(object) AS object, min(cpv_code) AS cpv_code, min(notified_on) AS notified_on,
               sum(amount) AS amount, string_agg(DISTINCT coalesce(supplier_name, supplier_id), ', ') AS suppliers
        FROM public_contracts WHERE buyer_siret = :buyer AND left(cpv_code, 2) = :division
          AND (CAST(:since AS date) IS NULL OR notified_on IS NULL OR notified_on >= CAST(:since AS date))
        GROUP BY decp_id"""), {"buyer": purchase["buyer_siret"], "division": purchase["division"],
                               "since": (purchase["expected_on"] - dt.timedelta(days=365))
                               if purchase.get("expected_on") else None}).mappings().all()
    words = _words(purchase["object"])
    scored = []
    for row in rows:
        other = _words(row["object"])
        score = len(words & other) / len(words | other) if words | other else 0.0
        same_code = (row["cpv_code"] or "")[:8] == (purchase.get("cpv_code") or "")[:8]
        scored.append({**row, "score": round(score + (0.25 if same_code else 0.0), 3)})
    scored.sort(key=lambda r: (-r["score"], r["notified_on"] or dt.date.min), reverse=False)
    return scored[:limit]


#: A DECP contract is taken as the award of a planned purchase when it is the only candidate at or
#: above this score (same CPV code counts 0.25, the rest is the share of common words of the objects).
AUTO_MATCH_SCORE = 0.75


def match_awarded(conn, *, apply: bool = False, min_score: float = AUTO_MATCH_SCORE) -> list[dict]:
    """Planned or published purchases whose award is in the DECP: for each, its best candidate when
    exactly one reaches ``min_score``. With ``apply`` they are marked ``awarded`` with that
    ``decp_id`` (audited, by no account; firms following them are told)."""
    found = []
    for row in conn.execute(text(f"{_SELECT} WHERE p.status IN ('planned', 'published') ORDER BY p.id")).mappings():
        purchase = _with_labels([row])[0]
        good = [c for c in decp_candidates(conn, purchase) if c["score"] >= min_score]
        if len(good) == 1:
            found.append({"id": purchase["id"], "object": purchase["object"], "decp_id": good[0]["decp_id"],
                          "decp_object": good[0]["object"], "score": good[0]["score"]})
    if apply and found:
        table = PlannedPurchase.__table__
        for item in found:
            before = audit.row_values(conn, table, item["id"])
            conn.execute(text("UPDATE planned_purchases SET status = 'awarded', decp_id = :d, updated_at = now() "
                              "WHERE id = :id"), {"d": item["decp_id"], "id": item["id"]})
            audit.record(conn, None, TABLE, item["id"], "update", before, audit.row_values(conn, table, item["id"]))
        purchases_changed(conn, [item["id"] for item in found])
        dataversion.touch(conn, TABLE)
    return found


def check_decp_id(conn, decp_id: str, buyer_siret: str) -> None:
    """A DECP id given for an awarded purchase must be one of the buyer's contracts."""
    if conn.scalar(text("SELECT 1 FROM public_contracts WHERE decp_id = :d AND buyer_siret = :b LIMIT 1"),
                   {"d": decp_id, "b": buyer_siret}) is None:
        raise InvalidInput(_("aucun marché DECP « %(id)s » de cet acheteur", id=decp_id[:60]))


# --- writing -------------------------------------------------------------------------------------

def _decimal(value, name: str) -> Decimal | None:
    if value is None or str(value).strip() == "":
        return None
    raw = str(value).replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace("€", "").replace(",", ".")
    try:
        number = Decimal(raw)
    except InvalidOperation as err:
        raise InvalidInput(_("montant illisible pour « %(name)s » : %(value)s", name=name, value=str(value)[:30])) from err
    if number < 0:
        raise InvalidInput(_("montant négatif pour « %(name)s »", name=name))
    return number


def clean(conn, values: dict) -> dict:
    """Check and normalise a purchase's values (form or API); raise InvalidInput naming the field."""
    out = {k: (values.get(k).strip() if isinstance(values.get(k), str) else values.get(k)) or None for k in COLUMNS}
    if not out["buyer_siret"] or not SIRET_RE.match(out["buyer_siret"].replace(" ", "")):
        raise InvalidInput(_("SIRET de l'acheteur : 14 chiffres attendus"))
    out["buyer_siret"] = out["buyer_siret"].replace(" ", "")
    if not out["object"]:
        raise InvalidInput(_("l'objet de l'achat est obligatoire"))
    if out["cpv_code"]:
        code = out["cpv_code"].replace(" ", "").split("-")[0]
        if not re.match(r"^\d{8}$", code):
            raise InvalidInput(_("code CPV : 8 chiffres attendus (ex. 45233140)"))
        out["cpv_code"] = code
    for name in ("amount", "amount_min", "amount_max"):
        out[name] = _decimal(out[name], name)
    if out["amount_min"] is not None and out["amount_max"] is not None and out["amount_min"] > out["amount_max"]:
        raise InvalidInput(_("la fourchette de montant est inversée"))
    quarter = parse_quarter(out["expected_quarter"])
    if isinstance(out["expected_on"], str):
        try:
            out["expected_on"] = dt.date.fromisoformat(out["expected_on"])
        except ValueError as err:
            raise InvalidInput(_("date de publication prévue : AAAA-MM-JJ attendu")) from err
    if quarter:
        out["expected_quarter"] = quarter[0]
        out["expected_on"] = out["expected_on"] or quarter[1]
    elif out["expected_on"]:
        out["expected_quarter"] = quarter_of(out["expected_on"])
    if out["lots"] is not None:
        try:
            out["lots"] = int(out["lots"])
        except (TypeError, ValueError) as err:
            raise InvalidInput(_("nombre de lots : un entier attendu")) from err
    if out["place_commune"] and not COMMUNE_RE.match(out["place_commune"]):
        raise InvalidInput(_("commune d'exécution : code INSEE à 5 caractères attendu"))
    if out["place_quartier"] and conn.scalar(text("SELECT 1 FROM quartiers WHERE code = :c"),
                                             {"c": out["place_quartier"]}) is None:
        raise InvalidInput(_("quartier inconnu : %(value)s", value=out["place_quartier"][:64]))
    out["status"] = out["status"] or "planned"
    if out["status"] not in PURCHASE_STATUSES:
        raise InvalidInput(_("statut inconnu : %(value)s", value=out["status"][:20]))
    if out["notice_url"] and not re.match(r"^https?://", out["notice_url"]):
        raise InvalidInput(_("lien de l'avis : une adresse http(s) attendue"))
    if out["status"] == "published" and not out["notice_url"]:
        raise InvalidInput(_("un achat publié a le lien de son avis de marché"))
    if out["decp_id"]:
        check_decp_id(conn, out["decp_id"], out["buyer_siret"])
    if out["status"] == "awarded" and not out["decp_id"]:
        raise InvalidInput(_("un achat attribué a l'identifiant de son marché dans les DECP"))
    return out


def place_geometries(conn, ids: list[int] | None = None) -> int:
    """Draw the place of execution of purchases not drawn by hand nor given as a point: the
    quartier's outline, else the union of the commune's quartiers; set-based, returns rows changed."""
    return conn.execute(text(f"""
        UPDATE planned_purchases p SET geom = g.geom, place_basis = g.basis
        FROM (
            SELECT p2.id,
                   coalesce(q.geom, c.geom) AS geom,
                   CASE WHEN q.geom IS NOT NULL THEN 'quartier' WHEN c.geom IS NOT NULL THEN 'commune' END AS basis
            FROM planned_purchases p2
            LEFT JOIN quartiers q ON q.code = p2.place_quartier
            LEFT JOIN LATERAL (
                SELECT ST_Multi(ST_Union(qc.geom)) AS geom FROM quartiers qc
                WHERE p2.place_commune IS NOT NULL
                  AND {commune_sql('qc.commune_insee')} = {commune_sql('p2.place_commune')}) c ON q.geom IS NULL
            WHERE (CAST(:ids AS bigint[]) IS NULL OR p2.id = ANY (CAST(:ids AS bigint[])))
              AND coalesce(p2.place_basis, '') NOT IN ('drawn', 'point')
        ) g
        WHERE p.id = g.id AND (p.geom IS DISTINCT FROM g.geom OR p.place_basis IS DISTINCT FROM g.basis)
    """), {"ids": ids}).rowcount


def _place(conn, purchase_id: int) -> str | None:
    """The place's geometry on a 1 cm grid (geometries are not in the audit log's rows: compared here)."""
    return conn.scalar(text("SELECT ST_AsText(ST_SnapToGrid(geom, 0.01)) FROM planned_purchases WHERE id = :id"),
                       {"id": purchase_id})


def save(conn, editor: Editor, values: dict, *, purchase_id: int | None = None, area: str | None = None) -> int:
    """Create (``purchase_id`` None) or update a planned purchase as ``editor``; audited, alerts queued.

    ``area`` is a drawn place of execution (GeoJSON, WGS 84), or ``""`` to drop a drawn one.
    Returns the purchase's id.
    """
    table = PlannedPurchase.__table__
    cleaned = clean(conn, values)
    if not editor.may_edit(cleaned["buyer_siret"]):
        raise Forbidden(_("vous ne pouvez saisir que les achats de votre acheteur"))
    if purchase_id is None:
        before = None
        purchase_id = conn.scalar(text(
            "INSERT INTO planned_purchases (source, external_id, buyer_siret, object) "
            "VALUES (:source, gen_random_uuid()::text, :buyer, :object) RETURNING id"),
            {"source": PORTAL_SOURCE, "buyer": cleaned["buyer_siret"], "object": cleaned["object"]})
    else:
        before = audit.row_values(conn, table, purchase_id)
        if before is None:
            raise NotFound(_("achat prévu introuvable"))
        if not editor.may_edit(before["buyer_siret"]):
            raise Forbidden(_("vous ne pouvez modifier que les achats de votre acheteur"))
    place_before = _place(conn, purchase_id)
    sets = ", ".join(f"{c} = :{c}" for c in COLUMNS)
    conn.execute(text(f"UPDATE planned_purchases SET {sets} WHERE id = :id"), {**cleaned, "id": purchase_id})
    if area:
        from notifications.subscriptions import check_area

        conn.execute(text("UPDATE planned_purchases SET geom = ST_GeomFromEWKT(:g), place_basis = 'drawn' "
                          "WHERE id = :id"), {"g": check_area(conn, area), "id": purchase_id})
    elif area == "":
        conn.execute(text("UPDATE planned_purchases SET place_basis = NULL WHERE id = :id AND place_basis = 'drawn'"),
                     {"id": purchase_id})
    place_geometries(conn, [purchase_id])
    after = audit.row_values(conn, table, purchase_id)
    changed = {k: v for k, v in (after or {}).items() if k not in ("updated_at",)} != \
        {k: v for k, v in (before or {}).items() if k not in ("updated_at",)} or _place(conn, purchase_id) != place_before
    if before is None or changed:
        conn.execute(text("UPDATE planned_purchases SET updated_at = clock_timestamp() WHERE id = :id"), {"id": purchase_id})
        after = audit.row_values(conn, table, purchase_id)
        audit.record(conn, editor.user_id, TABLE, purchase_id, "create" if before is None else "update", before, after)
        purchases_changed(conn, [purchase_id])
        dataversion.touch(conn, TABLE)
    return purchase_id
