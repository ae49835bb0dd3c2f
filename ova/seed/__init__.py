"""Reference data seeded from YAML (producers, the OVA grid); idempotent upserts."""
from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from ova.db import transaction

SEED_DIR = Path(__file__).resolve().parent


def seed_producers(conn: Connection, path: Path = SEED_DIR / "producers.yml") -> int:
    """Upsert the producers of ``path`` on their slug; returns how many were read."""
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    conn.execute(text(
        "INSERT INTO producers (slug, name, description, email, phone, url, buyer_siret) "
        "VALUES (:slug, :name, :description, :email, :phone, :url, :buyer_siret) "
        "ON CONFLICT (slug) DO UPDATE SET name = excluded.name, description = excluded.description, "
        "email = excluded.email, phone = excluded.phone, url = excluded.url, "
        # a buyer SIRET set with `ova purchases set-buyer` stays when the file names none
        "buyer_siret = coalesce(excluded.buyer_siret, producers.buyer_siret)"),
        [{"description": None, "email": None, "phone": None, "url": None, "buyer_siret": None, **r} for r in rows])
    return len(rows)


def seed_grid(conn: Connection, path: Path = SEED_DIR / "ova_grid.yml") -> dict[str, int]:
    """Upsert champs d'action, tâches standard, their producers and incident categories."""
    grid = yaml.safe_load(path.read_text(encoding="utf-8"))
    champs, taches, links, categories = [], [], [], []
    for i, champ in enumerate(grid["champs"], start=1):
        champs.append({"code": champ["code"], "fr": champ["fr"], "en": champ["en"], "pos": i})
        for j, tache in enumerate(champ["taches"], start=1):
            taches.append({"code": tache["code"], "champ": champ["code"], "fr": tache["fr"],
                           "en": tache["en"], "pos": j})
            links += [{"tache": tache["code"], "slug": slug} for slug in tache["producers"]]
            categories += [{"code": c["code"], "fr": c["fr"], "en": c["en"], "tache": tache["code"],
                            "slug": tache["producers"][0]} for c in tache.get("categories", [])]
    conn.execute(text(
        "INSERT INTO champs_action (code, label_fr, label_en, position) VALUES (:code, :fr, :en, :pos) "
        "ON CONFLICT (code) DO UPDATE SET label_fr = excluded.label_fr, label_en = excluded.label_en, "
        "position = excluded.position"), champs)
    conn.execute(text(
        "INSERT INTO taches_standard (code, champ_code, label_fr, label_en, position) "
        "VALUES (:code, :champ, :fr, :en, :pos) ON CONFLICT (code) DO UPDATE SET "
        "champ_code = excluded.champ_code, label_fr = excluded.label_fr, label_en = excluded.label_en, "
        "position = excluded.position"), taches)
    conn.execute(text("DELETE FROM tache_producers"))
    unknown = conn.scalars(text("SELECT unnest(CAST(:slugs AS text[])) EXCEPT SELECT slug FROM producers"),
                           {"slugs": sorted({link["slug"] for link in links})}).all()
    if unknown:
        raise ValueError(f"{path}: unknown producers {sorted(set(unknown))}; seed producers first")
    conn.execute(text(
        "INSERT INTO tache_producers (tache_code, producer_id) "
        "SELECT :tache, id FROM producers WHERE slug = :slug"), links)
    if categories:
        conn.execute(text(
            "INSERT INTO incident_categories (code, label_fr, label_en, tache_code, producer_id) "
            "SELECT :code, :fr, :en, :tache, (SELECT id FROM producers WHERE slug = :slug) "
            "ON CONFLICT (code) DO UPDATE SET label_fr = excluded.label_fr, label_en = excluded.label_en, "
            "tache_code = excluded.tache_code, producer_id = excluded.producer_id"), categories)
    return {"champs": len(champs), "taches": len(taches), "categories": len(categories)}


def seed_all(bind: Engine | Connection) -> dict[str, int]:
    """Seed every reference table in one transaction."""
    with transaction(bind) as conn:
        counts = {"producers": seed_producers(conn)}
        counts.update(seed_grid(conn))
    return counts
