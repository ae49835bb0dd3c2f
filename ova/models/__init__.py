"""Typed SQLAlchemy 2 models of the OVA schema.

Every geometry is stored in the storage CRS (``OVA_STORAGE_CRS``, Lambert-93 by default; the SRID of the
columns is the one the migrations read) with a GiST index; web clients get
WGS 84 through ``ST_Transform`` at query time. Enumerations are text columns with CHECK
constraints so that adding a value is a plain migration.

One module per domain (``base``, ``reference``, ``territory``, ``incidents``, ``norms``,
``economy``, ``layers``, ``csw``, ``accounts``, ``indicators``); import the models from ``ova.models``.
``economy``, ``layers``, ``accounts``, ``indicators``, ``notifications``); import the models from ``ova.models``.
``economy``, ``layers``, ``accounts``, ``indicators``, ``addresses``); import the models from ``ova.models``.
``economy``, ``layers``, ``accounts``, ``indicators``, ``basemap``); import the models from ``ova.models``.
"""
from __future__ import annotations

from ova.models.base import Base, NAMING, geometry
from ova.models.reference import Producer, ChampAction, TacheStandard, TacheProducer
from ova.models.territory import ZONE_STATUSES, Quartier, PriorityZone, TerritoryRecord
from ova.models.incidents import (INCIDENT_STATUSES, OPEN_STATUSES, CLOSED_STATUSES, IncidentCategory,
                                  Incident, REPORTER_CONFIRMATIONS, IncidentEvent, IncidentHold,
                                  IncidentReport, PUBLICATION_STATES, MODERATION_DECISIONS,
                                  MODERATED_FIELDS, TextModeration, AutoPublication,
                                  QuartierIncidentCount)
from ova.models.norms import (NORM_METRICS, NORM_SCOPES, NORM_PERIODS, DELAY_UNITS, Calendar,
                              CalendarClosedDay, CalendarDay, Norm, COMPLIANCE_STATUSES, TacheAudit,
                              Activity, DocumentDelivery, ComplianceResult, CompliancePublication,
                              PublishedResult)
from ova.models.economy import GEO_PRECISIONS, Establishment, PublicContract
from ova.models.layers import Layer, LayerVersion
from ova.models.csw import CSW_RECORDS, CSW_TEXT_COLUMNS
from ova.models.accounts import ROLES, User, ApiToken, AUDIT_ACTIONS, LoginFailure, RateCounter, AuditEntry
from ova.models.indicators import (INDICATOR_UNIT_KINDS, INDICATOR_PERIOD_KINDS, TerritoryIndicator,
                                   CommuneEpci)
from ova.models.notifications import (SUBSCRIPTION_KINDS, SUBSCRIPTION_FREQUENCIES, MAIL_LOCALES, OUTBOX_STATUSES,
                                      Subscription, OutboxMessage)
from ova.models.addresses import Address, AddressStreet
from ova.models.basemap import BASEMAP_THEMES, BasemapFeature
from ova.models.purchases import PURCHASE_STATUSES, PLACE_BASES, PlannedPurchase

__all__ = [
    "Base", "NAMING", "geometry", "Producer", "ChampAction", "TacheStandard", "TacheProducer",
    "ZONE_STATUSES", "Quartier", "PriorityZone", "TerritoryRecord", "INCIDENT_STATUSES", "OPEN_STATUSES",
    "CLOSED_STATUSES", "IncidentCategory", "Incident", "REPORTER_CONFIRMATIONS",
    "IncidentEvent", "IncidentHold", "IncidentReport", "PUBLICATION_STATES", "MODERATION_DECISIONS",
    "MODERATED_FIELDS", "TextModeration", "AutoPublication", "QuartierIncidentCount", "DELAY_UNITS", "Calendar",
    "CalendarClosedDay", "CalendarDay", "NORM_METRICS", "NORM_SCOPES", "NORM_PERIODS", "Norm",
    "COMPLIANCE_STATUSES", "TacheAudit", "Activity", "DocumentDelivery", "ComplianceResult",
    "CompliancePublication", "PublishedResult", "GEO_PRECISIONS", "Establishment",
    "PublicContract", "Layer", "LayerVersion", "CSW_RECORDS", "CSW_TEXT_COLUMNS",
    "ROLES", "User", "ApiToken", "AUDIT_ACTIONS",
    "LoginFailure", "RateCounter", "AuditEntry", "INDICATOR_UNIT_KINDS",
    "INDICATOR_PERIOD_KINDS", "TerritoryIndicator", "CommuneEpci", "SUBSCRIPTION_KINDS",
    "SUBSCRIPTION_FREQUENCIES", "MAIL_LOCALES", "OUTBOX_STATUSES", "Subscription", "OutboxMessage",
    "INDICATOR_PERIOD_KINDS", "TerritoryIndicator", "CommuneEpci", "Address", "AddressStreet",
    "INDICATOR_PERIOD_KINDS", "TerritoryIndicator", "CommuneEpci", "BASEMAP_THEMES", "BasemapFeature",
    "PURCHASE_STATUSES", "PLACE_BASES", "PlannedPurchase",
]
