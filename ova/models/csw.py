"""The CSW record store: one ISO 19139 record per public layer, in pycsw's record model."""
from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import Column, Float, ForeignKey, String, Table, Text

from ova.models.base import Base
from ova.settings import WEB_SRID

#: Text columns of pycsw's record model (pycsw.core.repository.setup), filled by pycsw's own ISO
#: parser from each layer's ISO 19139 record: what its CSW queryables and output schemas read.
CSW_TEXT_COLUMNS = (
    "typename", "schema", "mdsource", "insert_date", "xml", "anytext", "metadata", "metadata_type", "language",
    "type", "title", "title_alternate", "abstract", "edition", "keywords", "keywordstype", "themes",
    "parentidentifier", "relation", "time_begin", "time_end", "topicategory", "resourcelanguage",
    "creator", "publisher", "contributor", "organization",
    "securityconstraints", "accessconstraints", "otherconstraints",
    "date", "date_revision", "date_creation", "date_publication", "date_modified", "format", "source",
    "crs", "geodescode", "denominator", "distancevalue", "distanceuom", "wkt_geometry",
    "servicetype", "servicetypeversion", "operation", "couplingtype", "operateson", "operatesonidentifier",
    "operatesoname", "degree", "classification", "conditionapplyingtoaccessanduse", "lineage",
    "responsiblepartyrole", "specificationtitle", "specificationdate", "specificationdatetype",
    "platform", "instrument", "sensortype", "cloudcover", "bands", "links", "contacts",
)
#: One ISO 19139 record per public catalogue layer; ``stamp`` is the hash of everything the record
#: was built from (a different stamp: the record is rebuilt).
CSW_RECORDS = Table(
    "csw_records", Base.metadata,
    Column("identifier", Text, primary_key=True),
    Column("layer_id", ForeignKey("layers.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("stamp", String(64), nullable=False),
    *(Column(name, Text, nullable=name not in ("typename", "schema", "mdsource", "insert_date", "xml", "anytext",
                                                 "metadata_type"))
      for name in CSW_TEXT_COLUMNS),
    Column("vert_extent_min", Float),
    Column("vert_extent_max", Float),
    Column("wkb_geometry", Geometry("GEOMETRY", srid=WEB_SRID, spatial_index=True)),
)
