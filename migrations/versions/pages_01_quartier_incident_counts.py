"""pages: incidents per (quartier, category, status) kept by statement triggers; open-deadline index

The home page summed every incident per quartier and the quartier page aggregated all of its
incidents at each view (4.2 s and 2.0 s at 10 million incidents). ``quartier_incident_counts``
holds the counts (total, resolved after the deadline, simulated times) per quartier, category
and status; AFTER INSERT/UPDATE/DELETE statement triggers on ``incidents`` add each statement's
net change, aggregated over its transition tables (set-based: one aggregate per statement,
whoever writes: the loader's merge or bulk path, a report, a status change, the deadline
recompute), and TRUNCATE empties it. ``ix_incidents_open_quartier_expected_at`` answers the
quartier page's "open and past the deadline" (which depends on now()) as the open incidents with a
deadline (counted) less those whose deadline is still ahead (an index range over recent ones).

Revision ID: pages_01
Revises: calendar_01
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa

revision = 'pages_01'
down_revision = 'calendar_01'
branch_labels = None
depends_on = None

# status::text: the form PostgreSQL prints back unchanged (etl.bulk rebuilds indexes from their definition).
OPEN = "status::text IN ('new', 'acknowledged', 'in_progress')"

#: The counted conditions besides the total, by column of quartier_incident_counts.
COUNTED = {"resolved_late": "resolved_at > expected_at", "simulated": "times_simulated",
           "resolved": "resolved_at IS NOT NULL", "with_deadline": "expected_at IS NOT NULL"}
_COLUMNS = ", ".join(COUNTED)
_COUNTS = ", ".join(f"count(*) FILTER (WHERE {cond})" for cond in COUNTED.values())
_ADD = ", ".join(f"{c} = c.{c} + excluded.{c}" for c in ("total", *COUNTED))
_FLAGS = ", ".join(f"{cond} AS {c}" for c, cond in COUNTED.items())
_SUMS = ", ".join(f"coalesce(sum(n) FILTER (WHERE {c}), 0)" for c in COUNTED)
_CHANGED = " OR ".join(["sum(n) <> 0", *(f"sum(n) FILTER (WHERE {c}) <> 0" for c in COUNTED)])

# Net change of one statement: +1 per new row, -1 per old row, summed per key (keys left at 0 stay,
# readers skip them); an update that changes no counted column writes nothing. Keys in order, so
# that concurrent writers lock the rows they share in the same order.
# OR REPLACE: the tests drop the tables (and so the triggers) but not the functions before migrating again.
_FUNCTION = f"""
CREATE OR REPLACE FUNCTION quartier_incident_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM quartier_incident_counts;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO quartier_incident_counts AS c (quartier_id, category, status, total, {_COLUMNS})
        SELECT quartier_id, category, status, count(*), {_COUNTS}
        FROM qic_new WHERE quartier_id IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (quartier_id, category, status) DO UPDATE SET {_ADD};
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO quartier_incident_counts AS c (quartier_id, category, status, total, {_COLUMNS})
        SELECT quartier_id, category, status, -count(*), {", ".join(f"-count(*) FILTER (WHERE {cond})"
                                                                    for cond in COUNTED.values())}
        FROM qic_old WHERE quartier_id IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (quartier_id, category, status) DO UPDATE SET {_ADD};
    ELSE
        INSERT INTO quartier_incident_counts AS c (quartier_id, category, status, total, {_COLUMNS})
        SELECT quartier_id, category, status, sum(n), {_SUMS}
        FROM (SELECT quartier_id, category, status, 1 AS n, {_FLAGS} FROM qic_new
              UNION ALL
              SELECT quartier_id, category, status, -1, {_FLAGS} FROM qic_old) d
        WHERE quartier_id IS NOT NULL GROUP BY 1, 2, 3
        HAVING {_CHANGED}
        ORDER BY 1, 2, 3
        ON CONFLICT (quartier_id, category, status) DO UPDATE SET {_ADD};
    END IF;
    RETURN NULL;
END $$
"""
#: The resolution delay (hours) whose median the quartier page shows, as an index expression.
DELAY = "(extract(epoch FROM resolved_at - reported_at) / 3600.0)"


def upgrade() -> None:
    op.create_table(
        'quartier_incident_counts',
        sa.Column('quartier_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('total', sa.BigInteger(), nullable=False),
        sa.Column('resolved_late', sa.BigInteger(), nullable=False),
        sa.Column('simulated', sa.BigInteger(), nullable=False),
        sa.Column('resolved', sa.BigInteger(), nullable=False),
        sa.Column('with_deadline', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('quartier_id', 'category', 'status', name=op.f('pk_quartier_incident_counts')),
    )
    conn = op.get_bind()
    conn.execute(sa.text(_FUNCTION))
    for event, ref in (("INSERT", "NEW TABLE AS qic_new"), ("DELETE", "OLD TABLE AS qic_old"),
                       ("UPDATE", "OLD TABLE AS qic_old NEW TABLE AS qic_new")):
        conn.execute(sa.text(
            f"CREATE TRIGGER quartier_incident_counts_{event.lower()} AFTER {event} ON incidents "
            f"REFERENCING {ref} FOR EACH STATEMENT EXECUTE FUNCTION quartier_incident_counts_apply()"))
    conn.execute(sa.text(
        "CREATE TRIGGER quartier_incident_counts_truncate AFTER TRUNCATE ON incidents "
        "FOR EACH STATEMENT EXECUTE FUNCTION quartier_incident_counts_apply()"))
    # Lock the incidents while counting them so that no write falls between the count and the triggers.
    conn.execute(sa.text("LOCK TABLE incidents IN SHARE MODE"))
    conn.execute(sa.text(f"""
        INSERT INTO quartier_incident_counts (quartier_id, category, status, total, {_COLUMNS})
        SELECT quartier_id, category, status, count(*), {_COUNTS}
        FROM incidents WHERE quartier_id IS NOT NULL GROUP BY 1, 2, 3
    """))
    op.create_index('ix_incidents_open_quartier_expected_at', 'incidents', ['quartier_id', 'expected_at'],
                    unique=False, postgresql_include=['category'], postgresql_where=sa.text(OPEN))
    # The median resolution delays, overall and per category: an OFFSET into these, index-only
    # (PostgreSQL scans an expression index index-only when the expression's columns are in it).
    op.create_index('ix_incidents_resolved_quartier_delay', 'incidents', ['quartier_id', sa.text(DELAY)],
                    unique=False, postgresql_include=['reported_at', 'resolved_at'],
                    postgresql_where=sa.text('resolved_at IS NOT NULL'))
    op.create_index('ix_incidents_resolved_quartier_category_delay', 'incidents',
                    ['quartier_id', 'category', sa.text(DELAY)], unique=False,
                    postgresql_include=['reported_at', 'resolved_at'],
                    postgresql_where=sa.text('resolved_at IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_incidents_resolved_quartier_category_delay', table_name='incidents')
    op.drop_index('ix_incidents_resolved_quartier_delay', table_name='incidents')
    op.drop_index('ix_incidents_open_quartier_expected_at', table_name='incidents',
                  postgresql_where=sa.text(OPEN))
    for event in ("insert", "delete", "update", "truncate"):
        op.execute(f"DROP TRIGGER quartier_incident_counts_{event} ON incidents")
    op.execute("DROP FUNCTION quartier_incident_counts_apply()")
    op.drop_table('quartier_incident_counts')
