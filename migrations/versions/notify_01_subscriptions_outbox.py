"""notifications: subscriptions (double opt-in) and the outbox of e-mails

``subscriptions`` holds who wants which messages (an address or an account, one selection);
``outbox`` holds every message to send, written in the transaction of the event that causes it,
with its idempotency key (unique), its state and its delivery attempts. New tables only.

Revision ID: notify_01
Revises: csw_01
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry

from ova.settings import storage_srid
from sqlalchemy.dialects import postgresql

revision = 'notify_01'
down_revision = 'csw_01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_geospatial_table('subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('locale', sa.String(length=2), server_default='fr', nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('quartier_id', sa.Integer(), nullable=True),
    sa.Column('zone_code', sa.String(length=64), nullable=True),
    sa.Column('category', sa.String(length=64), nullable=True),
    sa.Column('incident_id', sa.BigInteger(), nullable=True),
    sa.Column('producer_id', sa.Integer(), nullable=True),
    sa.Column('frequency', sa.String(length=16), server_default='immediate', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unsubscribed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=storage_srid(), dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.CheckConstraint("(kind <> 'quartier' OR quartier_id IS NOT NULL) AND (kind <> 'zone' OR zone_code IS NOT NULL) AND (kind <> 'category' OR category IS NOT NULL) AND (kind <> 'area' OR geom IS NOT NULL) AND (kind <> 'incident' OR incident_id IS NOT NULL) AND (kind <> 'queue' OR producer_id IS NOT NULL)", name=op.f('ck_subscriptions_target')),
    sa.CheckConstraint("frequency IN ('immediate', 'daily')", name=op.f('ck_subscriptions_frequency')),
    sa.CheckConstraint("kind IN ('quartier', 'zone', 'category', 'area', 'incident', 'queue', 'publication')", name=op.f('ck_subscriptions_kind')),
    sa.CheckConstraint("locale IN ('fr', 'en')", name=op.f('ck_subscriptions_locale')),
    sa.CheckConstraint('email IS NOT NULL OR user_id IS NOT NULL', name=op.f('ck_subscriptions_recipient')),
    sa.ForeignKeyConstraint(['category'], ['incident_categories.code'], name=op.f('fk_subscriptions_category_incident_categories'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_subscriptions_incident_id_incidents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['producer_id'], ['producers.id'], name=op.f('fk_subscriptions_producer_id_producers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['quartier_id'], ['quartiers.id'], name=op.f('fk_subscriptions_quartier_id_quartiers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_subscriptions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions')),
    sa.UniqueConstraint('token', name=op.f('uq_subscriptions_token'))
    )
    op.create_geospatial_index('idx_subscriptions_geom', 'subscriptions', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_subscriptions_email', 'subscriptions', ['email'], unique=False)
    op.create_index('ix_subscriptions_incident_id', 'subscriptions', ['incident_id'], unique=False)
    op.create_index('ix_subscriptions_kind_quartier_id', 'subscriptions', ['kind', 'quartier_id'], unique=False)
    op.create_index('ix_subscriptions_user_id', 'subscriptions', ['user_id'], unique=False)
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('locale', sa.String(length=2), server_default='fr', nullable=False),
    sa.Column('template', sa.String(length=64), nullable=False),
    sa.Column('context', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('claimed_by', sa.Integer(), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('digest_id', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("locale IN ('fr', 'en')", name=op.f('ck_outbox_locale')),
    sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed', 'digested', 'cancelled')", name=op.f('ck_outbox_status')),
    sa.ForeignKeyConstraint(['digest_id'], ['outbox.id'], name=op.f('fk_outbox_digest_id_outbox'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_outbox_subscription_id_subscriptions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('key', name=op.f('uq_outbox_key')),
    sa.UniqueConstraint('token', name=op.f('uq_outbox_token'))
    )
    op.create_index('ix_outbox_digest_id', 'outbox', ['digest_id'], unique=False)
    op.create_index('ix_outbox_recipient_sent_at', 'outbox', ['recipient', 'sent_at'], unique=False)
    op.create_index('ix_outbox_status_due_at', 'outbox', ['status', 'due_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_status_due_at', table_name='outbox')
    op.drop_index('ix_outbox_recipient_sent_at', table_name='outbox')
    op.drop_index('ix_outbox_digest_id', table_name='outbox')
    op.drop_table('outbox')
    op.drop_index('ix_subscriptions_user_id', table_name='subscriptions')
    op.drop_index('ix_subscriptions_kind_quartier_id', table_name='subscriptions')
    op.drop_index('ix_subscriptions_incident_id', table_name='subscriptions')
    op.drop_index('ix_subscriptions_email', table_name='subscriptions')
    op.drop_geospatial_index('idx_subscriptions_geom', table_name='subscriptions', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('subscriptions')
