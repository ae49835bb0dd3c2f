"""moderation: the typed address of a report naming a person is public without its house number

``incidents.address`` stays what the reporter typed or picked (the service's); ``public_address``,
when set, is what the public channels show instead (the street without the house number, personal
data masked), set by ``incidents.moderation`` when the description names a person or the address
itself holds personal data; ``address_reviewed`` is true once a moderator decided (then the
automatic check no longer changes it). The view ``public_incidents`` reads the public one.

Revision ID: moderation_02
Revises: moderation_01
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa

revision = 'moderation_02'
down_revision = 'moderation_01'
branch_labels = None
depends_on = None

#: The public rule (keep in step with ova.models and moderation_01's first version).
PUBLIC_INCIDENTS = """
CREATE OR REPLACE VIEW public_incidents AS
SELECT i.id, i.source, i.external_id, i.category, i.source_category, i.subcategory,
       i.public_description AS description,
       CASE WHEN i.description IS NULL THEN NULL ELSE i.description_state END AS description_state,
       CAST(coalesce(i.public_address, i.address) AS varchar(500)) AS address,
       i.reported_at, i.acknowledged_at, i.resolved_at, i.times_simulated, i.status,
       i.expected_at, i.norm_id, i.source_expected_at, i.producer_id, i.quartier_id, i.zone_id,
       i.updated_at, i.geom
FROM incidents i
"""

PREVIOUS = """
CREATE OR REPLACE VIEW public_incidents AS
SELECT i.id, i.source, i.external_id, i.category, i.source_category, i.subcategory,
       i.public_description AS description,
       CASE WHEN i.description IS NULL THEN NULL ELSE i.description_state END AS description_state,
       i.address, i.reported_at, i.acknowledged_at, i.resolved_at, i.times_simulated, i.status,
       i.expected_at, i.norm_id, i.source_expected_at, i.producer_id, i.quartier_id, i.zone_id,
       i.updated_at, i.geom
FROM incidents i
"""


def upgrade() -> None:
    op.add_column('incidents', sa.Column('public_address', sa.String(length=500), nullable=True))
    op.add_column('incidents', sa.Column('address_reviewed', sa.Boolean(), server_default='false', nullable=False))
    op.execute(PUBLIC_INCIDENTS)


def downgrade() -> None:
    op.execute(PREVIOUS)
    op.drop_column('incidents', 'address_reviewed')
    op.drop_column('incidents', 'public_address')
