"""working calendars, norm delays in working days/hours or the source's deadline, incident holds

Norms keep their elapsed-hours delays (``delay_hours`` becomes ``delay_value`` in unit ``hours``);
a delay may now be counted in working days or working hours of a calendar (weekdays, public
holidays, closed days, service hours), or be the deadline the source system gave the request.

Revision ID: norms_03
Revises: etl_01
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = 'norms_03'
down_revision = 'etl_01'
branch_labels = None
depends_on = None

_INCLUDE = ['category', 'status', 'zone_id', 'resolved_at', 'times_simulated']


def upgrade() -> None:
    op.create_table(
        'calendars',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('label_fr', sa.String(length=200), nullable=False),
        sa.Column('label_en', sa.String(length=200), nullable=False),
        sa.Column('weekdays', postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column('holidays', sa.String(length=32), nullable=True),
        sa.Column('opens', sa.Interval(), server_default='0', nullable=False),
        sa.Column('closes', sa.Interval(), server_default='24:00:00', nullable=False),
        sa.Column('is_default', sa.Boolean(), server_default='false', nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint("closes > opens AND opens >= interval '0' AND closes <= interval '24 hours'",
                           name=op.f('ck_calendars_service_hours')),
        sa.CheckConstraint('cardinality(weekdays) > 0', name=op.f('ck_calendars_weekdays')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendars')),
        sa.UniqueConstraint('code', name=op.f('uq_calendars_code')),
    )
    op.create_table(
        'calendar_closed_days',
        sa.Column('calendar_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['calendar_id'], ['calendars.id'], ondelete='CASCADE',
                                name=op.f('fk_calendar_closed_days_calendar_id_calendars')),
        sa.PrimaryKeyConstraint('calendar_id', 'day', name=op.f('pk_calendar_closed_days')),
    )
    op.create_table(
        'calendar_days',
        sa.Column('calendar_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('ordinal', sa.Integer(), nullable=True),
        sa.Column('worked_through', sa.Integer(), nullable=False),
        sa.Column('closed_reason', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['calendar_id'], ['calendars.id'], ondelete='CASCADE',
                                name=op.f('fk_calendar_days_calendar_id_calendars')),
        sa.PrimaryKeyConstraint('calendar_id', 'day', name=op.f('pk_calendar_days')),
        sa.UniqueConstraint('calendar_id', 'ordinal', name='uq_calendar_days_calendar_id_ordinal'),
    )
    op.add_column('norms', sa.Column('delay_value', sa.Integer(), nullable=True))
    op.add_column('norms', sa.Column('delay_unit', sa.String(length=16), server_default='hours', nullable=False))
    op.add_column('norms', sa.Column('calendar_id', sa.Integer(), nullable=True))
    op.add_column('norms', sa.Column('pauses_on_hold', sa.Boolean(), server_default='false', nullable=False))
    op.create_foreign_key(op.f('fk_norms_calendar_id_calendars'), 'norms', 'calendars', ['calendar_id'], ['id'],
                          ondelete='RESTRICT')
    op.execute("UPDATE norms SET delay_value = delay_hours")
    op.drop_constraint(op.f('ck_norms_response_delay'), 'norms', type_='check')
    op.drop_column('norms', 'delay_hours')
    op.create_check_constraint(
        op.f('ck_norms_response_delay'), 'norms',
        "metric <> 'response_delay' OR (cardinality(category_codes) > 0 "
        "AND (delay_unit = 'source' OR delay_value > 0))")
    op.create_check_constraint(
        op.f('ck_norms_delay_unit'), 'norms',
        "delay_unit IN ('hours', 'working_days', 'working_hours', 'source')")
    op.add_column('incidents', sa.Column('source_expected_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'incident_holds',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('incident_id', sa.BigInteger(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('ended_at IS NULL OR ended_at >= started_at', name=op.f('ck_incident_holds_period')),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'], ondelete='SET NULL',
                                name=op.f('fk_incident_holds_author_id_users')),
        sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], ondelete='CASCADE',
                                name=op.f('fk_incident_holds_incident_id_incidents')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_holds')),
    )
    op.create_index('ix_incident_holds_incident_id', 'incident_holds', ['incident_id'], unique=False)
    # The engine's incremental path stays index-only: it now reads the id (holds) and the source deadline.
    op.drop_index('ix_incidents_quartier_id_reported_at', table_name='incidents')
    op.create_index('ix_incidents_quartier_id_reported_at', 'incidents', ['quartier_id', 'reported_at'],
                    unique=False, postgresql_include=_INCLUDE + ['id', 'source_expected_at'])


def downgrade() -> None:
    op.drop_index('ix_incidents_quartier_id_reported_at', table_name='incidents')
    op.create_index('ix_incidents_quartier_id_reported_at', 'incidents', ['quartier_id', 'reported_at'],
                    unique=False, postgresql_include=_INCLUDE)
    op.drop_index('ix_incident_holds_incident_id', table_name='incident_holds')
    op.drop_table('incident_holds')
    op.drop_column('incidents', 'source_expected_at')
    op.drop_constraint(op.f('ck_norms_delay_unit'), 'norms', type_='check')
    op.drop_constraint(op.f('ck_norms_response_delay'), 'norms', type_='check')
    op.add_column('norms', sa.Column('delay_hours', sa.Integer(), nullable=True))
    op.execute("UPDATE norms SET delay_hours = CASE delay_unit WHEN 'hours' THEN delay_value "
               "WHEN 'working_days' THEN delay_value * 24 WHEN 'working_hours' THEN delay_value ELSE 24 END "
               "WHERE metric = 'response_delay'")
    op.create_check_constraint(
        op.f('ck_norms_response_delay'), 'norms',
        "metric <> 'response_delay' OR (delay_hours > 0 AND cardinality(category_codes) > 0)")
    op.drop_constraint(op.f('fk_norms_calendar_id_calendars'), 'norms', type_='foreignkey')
    for column in ('pauses_on_hold', 'calendar_id', 'delay_unit', 'delay_value'):
        op.drop_column('norms', column)
    op.drop_table('calendar_days')
    op.drop_table('calendar_closed_days')
    op.drop_table('calendars')
