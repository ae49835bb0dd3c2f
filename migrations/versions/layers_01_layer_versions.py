"""layer versions and the schema of producers' published tables

Revision ID: layers_01
Revises: 0001
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa

revision = 'layers_01'
down_revision = "incidents_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Tables uploaded by producers (``ova layers publish``) live in their own schema.
    op.execute("CREATE SCHEMA IF NOT EXISTS published")
    op.create_table('layer_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('layer_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('filename', sa.String(length=300), nullable=True),
    sa.Column('feature_count', sa.Integer(), nullable=False),
    sa.Column('published_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['layer_id'], ['layers.id'], name=op.f('fk_layer_versions_layer_id_layers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['published_by'], ['users.id'], name=op.f('fk_layer_versions_published_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_layer_versions')),
    sa.UniqueConstraint('layer_id', 'version', name='uq_layer_versions_layer_id_version')
    )


def downgrade() -> None:
    # The published schema keeps producers' data: it is never dropped by a migration.
    op.drop_table('layer_versions')
