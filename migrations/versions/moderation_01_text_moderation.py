"""moderation: citizens' texts and photos public only once moderated

``incidents.description`` stays the reporter's own words (private); ``public_description`` is the
moderated text and ``description_state`` says where it stands. ``text_moderations`` keeps each
text's original, findings and decision for the service; ``auto_publications`` holds the
producers' per-category choice of automatic publication. The view ``public_incidents`` is the
one public rule: the ``signalements`` layer (OGC API, tiles, downloads) serves it instead of the
table. Existing texts become pending (nothing is dropped: the originals stay in ``description``).

Revision ID: moderation_01
Revises: purchases_01
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'moderation_01'
down_revision = 'purchases_01'
branch_labels = None
depends_on = None

#: The public rule, also used by the tests of every public channel (keep in step with ova.models).
PUBLIC_INCIDENTS = """
CREATE VIEW public_incidents AS
SELECT i.id, i.source, i.external_id, i.category, i.source_category, i.subcategory,
       i.public_description AS description,
       CASE WHEN i.description IS NULL THEN NULL ELSE i.description_state END AS description_state,
       i.address, i.reported_at, i.acknowledged_at, i.resolved_at, i.times_simulated, i.status,
       i.expected_at, i.norm_id, i.source_expected_at, i.producer_id, i.quartier_id, i.zone_id,
       i.updated_at, i.geom
FROM incidents i
"""


def upgrade() -> None:
    op.add_column('incidents', sa.Column('public_description', sa.Text(), nullable=True))
    op.add_column('incidents', sa.Column('description_state', sa.String(length=16), server_default='pending',
                                         nullable=False))
    op.create_check_constraint(op.f('ck_incidents_description_state'), 'incidents',
                               "description_state IN ('pending', 'published', 'hidden')")
    op.add_column('incident_reports', sa.Column('photo_state', sa.String(length=16), server_default='pending',
                                                nullable=False))
    op.add_column('incident_reports', sa.Column('photo_original_path', sa.String(length=200), nullable=True))
    op.add_column('incident_reports', sa.Column('public_comment', sa.Text(), nullable=True))
    op.create_check_constraint(op.f('ck_incident_reports_photo_state'), 'incident_reports',
                               "photo_state IN ('pending', 'published', 'hidden')")
    op.create_table('text_moderations',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('incident_id', sa.BigInteger(), nullable=False),
    sa.Column('field', sa.String(length=32), nullable=False),
    sa.Column('original', sa.Text(), nullable=True),
    sa.Column('masked', sa.Text(), nullable=True),
    sa.Column('findings', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('decision', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('public_text', sa.Text(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('moderator_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('moderated_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("decision IN ('pending', 'approved', 'edited', 'hidden', 'auto')",
                       name=op.f('ck_text_moderations_decision')),
    sa.CheckConstraint("field IN ('description', 'confirmation_comment')", name=op.f('ck_text_moderations_field')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_text_moderations_incident_id_incidents'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['moderator_id'], ['users.id'], name=op.f('fk_text_moderations_moderator_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_text_moderations')),
    sa.UniqueConstraint('incident_id', 'field', name='uq_text_moderations_incident_field'),
    )
    op.create_index('ix_text_moderations_decision', 'text_moderations', ['decision'], unique=False)
    op.create_table('auto_publications',
    sa.Column('producer_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_auto_publications_author_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['category'], ['incident_categories.code'],
                            name=op.f('fk_auto_publications_category_incident_categories'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['producer_id'], ['producers.id'], name=op.f('fk_auto_publications_producer_id_producers'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('producer_id', 'category', name=op.f('pk_auto_publications')),
    )
    op.execute(PUBLIC_INCIDENTS)
    op.execute("UPDATE layers SET source_table = 'public_incidents' WHERE source_table IN ('incidents', 'public.incidents')")


def downgrade() -> None:
    op.execute("UPDATE layers SET source_table = 'incidents' WHERE source_table IN ('public_incidents', "
               "'public.public_incidents')")
    op.execute("DROP VIEW public_incidents")
    op.drop_table('auto_publications')
    op.drop_index('ix_text_moderations_decision', table_name='text_moderations')
    op.drop_table('text_moderations')
    op.drop_constraint(op.f('ck_incident_reports_photo_state'), 'incident_reports', type_='check')
    op.drop_column('incident_reports', 'public_comment')
    op.drop_column('incident_reports', 'photo_original_path')
    op.drop_column('incident_reports', 'photo_state')
    op.drop_constraint(op.f('ck_incidents_description_state'), 'incidents', type_='check')
    op.drop_column('incidents', 'description_state')
    op.drop_column('incidents', 'public_description')
