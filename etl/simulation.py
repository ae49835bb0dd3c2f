"""Simulated acknowledgement and resolution times for DansMaRue incidents.

DansMaRue publishes when an anomaly was reported, never when it was handled, yet the OVA
response-delay norms need both. This module fills ``acknowledged_at``, ``resolved_at`` and
``status`` of incidents whose ``source = 'dansmarue'`` with a simple, documented model and flags
them ``times_simulated = true`` so every page and indicator can say the times are simulated.
No other incident is ever touched.

The model, per incident, with draws that depend only on ``(seed, external_id)`` — so a run is
reproducible, idempotent for the same seed, and adding incidents does not change the others:

* outcome: 3 % **rejected** (acknowledged, never resolved), 7 % **still open** (half not yet
  acknowledged ``new``, half ``acknowledged``), 90 % **resolved**;
* delay to acknowledgement: log-normal with the category's median ``ack`` hours and
  σ = 0.9 (so about two thirds of the delays fall within a factor 2.5 of the median);
* delay from acknowledgement to resolution: log-normal with median ``fix`` hours, σ = 0.9;
* a time that would fall after "now" is not set (the incident stays open at that stage).

The medians below are assumptions for a demonstration, in hours; they are ordered the way city
services usually are (cleaning within a day, graffiti within a week, roads and trees slower).
"""
from __future__ import annotations

import hashlib
import logging

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from ova import dataversion
from norms.engine import compute_all
from ova.db import transaction

LOGGER = logging.getLogger(__name__)
SOURCE = "dansmarue"
SIGMA = 0.9
SHARE_REJECTED = 0.03
SHARE_OPEN = 0.07

#: Category → (median hours to acknowledgement, median hours from acknowledgement to resolution).
MEDIAN_HOURS = {
    "proprete": (4, 24),
    "graffiti": (24, 120),
    "affichage-sauvage": (24, 96),
    "encombrants": (6, 36),
    "depot-sauvage": (6, 48),
    "voirie": (48, 360),
    "mobilier-urbain": (48, 240),
    "eau": (12, 96),
    "vegetation": (72, 480),
    "eclairage": (24, 120),
    "vehicule-abandonne": (72, 480),
    "occupation-commerciale": (48, 168),
    "tranquillite": (12, 72),
    "danger-espace-public": (4, 48),
}
DEFAULT_MEDIAN_HOURS = (48, 240)


def _uniforms(seed: int, external_ids: list[str]) -> np.ndarray:
    """Four uniforms in (0, 1) per incident, from a hash of (seed, external_id)."""
    raw = b"".join(hashlib.blake2b(f"{seed}:{e}".encode(), digest_size=16).digest() for e in external_ids)
    ints = np.frombuffer(raw, dtype=np.uint32).reshape(-1, 4).astype(np.float64)
    return (ints + 0.5) / 2.0**32


def model(frame: pd.DataFrame, seed: int, now: pd.Timestamp) -> pd.DataFrame:
    """Simulated (id, acknowledged_at, resolved_at, status) for incidents (id, external_id, category, reported_at)."""
    u = _uniforms(seed, frame["external_id"].tolist())
    # Box–Muller: two independent standard normals from u[:, 2] and u[:, 3].
    radius = np.sqrt(-2.0 * np.log(u[:, 2]))
    z_ack, z_fix = radius * np.cos(2 * np.pi * u[:, 3]), radius * np.sin(2 * np.pi * u[:, 3])
    medians = np.array([MEDIAN_HOURS.get(c, DEFAULT_MEDIAN_HOURS) for c in frame["category"]], dtype=float)
    ack_hours = np.exp(np.log(medians[:, 0]) + SIGMA * z_ack)
    fix_hours = np.exp(np.log(medians[:, 1]) + SIGMA * z_fix)
    reported = pd.to_datetime(frame["reported_at"], utc=True)
    acknowledged = reported + pd.to_timedelta(np.round(ack_hours * 3600), unit="s")
    resolved = acknowledged + pd.to_timedelta(np.round(fix_hours * 3600), unit="s")

    outcome = u[:, 0]
    rejected = outcome < SHARE_REJECTED
    still_open = (outcome >= SHARE_REJECTED) & (outcome < SHARE_REJECTED + SHARE_OPEN)
    not_acknowledged = still_open & (u[:, 1] < 0.5)

    ack_ok = ~not_acknowledged & (acknowledged <= now).to_numpy()
    fix_ok = ack_ok & ~rejected & ~still_open & (resolved <= now).to_numpy()
    status = np.where(fix_ok, "resolved", np.where(rejected & ack_ok, "rejected", np.where(ack_ok, "acknowledged", "new")))
    return pd.DataFrame({
        "id": frame["id"].to_numpy(),
        "acknowledged_at": acknowledged.where(ack_ok, None),
        "resolved_at": resolved.where(fix_ok, None),
        "status": status,
    })


def simulate_resolutions(bind: Engine | Connection, *, seed: int = 42, now=None) -> dict[str, int]:
    """Apply the model to every DansMaRue incident in one transaction; returns counts by status."""
    now = pd.Timestamp(now) if now is not None else pd.Timestamp.now(tz="UTC")
    with transaction(bind) as conn:
        frame = pd.DataFrame(conn.execute(text(
            "SELECT id, external_id, category, reported_at FROM incidents WHERE source = :s ORDER BY id"),
            {"s": SOURCE}).all(), columns=["id", "external_id", "category", "reported_at"])
        if frame.empty:
            return {"incidents": 0}
        simulated = model(frame, seed, now)
        conn.execute(text("DROP TABLE IF EXISTS etl_simulated"))
        conn.execute(text("CREATE TEMP TABLE etl_simulated (id bigint, acknowledged_at timestamptz, "
                          "resolved_at timestamptz, status text)"))
        raw = conn.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(
                "COPY etl_simulated (id, acknowledged_at, resolved_at, status) FROM STDIN") as copy:
            for row in simulated.itertuples(index=False):
                copy.write_row((int(row.id), None if pd.isna(row.acknowledged_at) else row.acknowledged_at.to_pydatetime(),
                                None if pd.isna(row.resolved_at) else row.resolved_at.to_pydatetime(), row.status))
        changed = conn.execute(text(
            """UPDATE incidents i SET acknowledged_at = s.acknowledged_at, resolved_at = s.resolved_at,
                      status = s.status, times_simulated = true, updated_at = now()
               FROM etl_simulated s
               WHERE i.id = s.id AND i.source = :s
                 AND (i.acknowledged_at, i.resolved_at, i.status, i.times_simulated)
                     IS DISTINCT FROM (s.acknowledged_at, s.resolved_at, s.status, true)"""), {"s": SOURCE}).rowcount
        conn.execute(text("DROP TABLE etl_simulated"))
        if changed:
            dataversion.touch(conn, "incidents")
            compute_all(conn)
    counts = {"incidents": len(simulated), "changed": changed}
    counts.update(simulated["status"].value_counts().sort_index().to_dict())
    LOGGER.info("simulated resolutions (seed %s): %s", seed, counts)
    return counts
