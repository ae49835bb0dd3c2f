"""The OVA method's reference grid (champs d'action, tâches standard) and the producers."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ova.models.base import Base, _now, geometry


class Producer(Base):
    """A producteur public d'information: a city service that publishes layers and handles incidents."""

    __tablename__ = "producers"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50))
    url: Mapped[str | None] = mapped_column(String(500))
    #: SIRET of the buyer (pouvoir adjudicateur) the service buys for: its agents edit that buyer's
    #: planned purchases. Several services of one city share the city's SIRET.
    buyer_siret: Mapped[str | None] = mapped_column(String(14))
    competence_area = mapped_column(geometry("MULTIPOLYGON"), nullable=True)
    created_at: Mapped[dt.datetime] = _now()


class ChampAction(Base):
    """One of the four OVA champs d'action (Entretien–Propreté, Prévention–Sécurité, …)."""

    __tablename__ = "champs_action"
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    label_fr: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)


class TacheStandard(Base):
    """A tâche standard of a champ d'action, with the producers responsible for it."""

    __tablename__ = "taches_standard"
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    champ_code: Mapped[str] = mapped_column(ForeignKey("champs_action.code", ondelete="RESTRICT"))
    label_fr: Mapped[str] = mapped_column(String(300))
    label_en: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer)

    champ: Mapped[ChampAction] = relationship()
    producers: Mapped[list["Producer"]] = relationship(secondary="tache_producers")


class TacheProducer(Base):
    """Which producers are responsible for a tâche standard."""

    __tablename__ = "tache_producers"
    tache_code: Mapped[str] = mapped_column(ForeignKey("taches_standard.code", ondelete="CASCADE"), primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producers.id", ondelete="CASCADE"), primary_key=True)
