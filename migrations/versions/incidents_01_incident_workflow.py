"""incident workflow: incident_events (status history) and incident_reports (reporter side)

Revision ID: incidents_01
Revises: 0001
Create Date: 2026-11-23 16:39:52.829243
"""
from alembic import op
import geoalchemy2
import sqlalchemy as sa


revision = 'incidents_01'
down_revision = "indicators_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('incident_events',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('incident_id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint("from_status IS NULL OR from_status IN ('new', 'acknowledged', 'in_progress', 'resolved', 'rejected')", name=op.f('ck_incident_events_from_status')),
    sa.CheckConstraint("to_status IN ('new', 'acknowledged', 'in_progress', 'resolved', 'rejected')", name=op.f('ck_incident_events_to_status')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_incident_events_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_events_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_events'))
    )
    op.create_index('ix_incident_events_incident_id_at', 'incident_events', ['incident_id', 'at'], unique=False)
    op.create_table('incident_reports',
    sa.Column('incident_id', sa.BigInteger(), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('client_hash', sa.String(length=64), nullable=True),
    sa.Column('photo_path', sa.String(length=200), nullable=True),
    sa.Column('confirmation', sa.String(length=16), nullable=True),
    sa.Column('confirmation_comment', sa.Text(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("confirmation IS NULL OR confirmation IN ('confirmed', 'disputed')", name=op.f('ck_incident_reports_confirmation')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_reports_incident_id_incidents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_incident_reports_reporter_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('incident_id', name=op.f('pk_incident_reports')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_incident_reports_token_hash'))
    )
    op.create_index('ix_incident_reports_client_hash_created_at', 'incident_reports', ['client_hash', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_incident_reports_client_hash_created_at', table_name='incident_reports')
    op.drop_table('incident_reports')
    op.drop_index('ix_incident_events_incident_id_at', table_name='incident_events')
    op.drop_table('incident_events')
