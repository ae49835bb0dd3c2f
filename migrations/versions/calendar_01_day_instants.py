"""calendar: each calendar day carries its opening and closing instants

``calendar_days.opens_at``/``closes_at`` are the day's service hours as instants, converted from
the territory's local time (``OVA_TIMEZONE``) when the days are built
(``norms.calendars.build_calendar_days``), so that a deadline in working days or hours reads
instants instead of converting a local time for every incident it judges.

Revision ID: calendar_01
Revises: moderation_02
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa

from ova import settings

revision = 'calendar_01'
down_revision = 'moderation_02'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('calendar_days', sa.Column('opens_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('calendar_days', sa.Column('closes_at', sa.DateTime(timezone=True), nullable=True))
    op.get_bind().execute(sa.text(
        "UPDATE calendar_days d SET opens_at = (d.day + c.opens) AT TIME ZONE :tz, "
        "closes_at = (d.day + c.closes) AT TIME ZONE :tz FROM calendars c WHERE c.id = d.calendar_id"),
        {"tz": settings.timezone_name()})
    op.alter_column('calendar_days', 'opens_at', nullable=False)
    op.alter_column('calendar_days', 'closes_at', nullable=False)


def downgrade() -> None:
    op.drop_column('calendar_days', 'closes_at')
    op.drop_column('calendar_days', 'opens_at')
