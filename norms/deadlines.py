"""Incident deadlines (``expected_at``) from the response-delay norms that apply to them.

A norm applies to an incident when the incident's category is one of the norm's categories,
the norm is valid on the day the incident was reported (local calendar of the territory), and the
scope matches: the whole territory, the incident's quartier, a priority zone (the zone version the
incident was placed in when reported; optionally only those of one quartier), or one zone code.
When several apply, the earliest deadline wins; an incident no norm applies to keeps the deadline
its source gave (``source_expected_at``, e.g. Open311 ``expected_datetime``), if any.

A norm's delay is counted in one of four units (``norms.delay_unit``):

* ``hours``: elapsed hours, so a report made just before a daylight-saving change still gets
  exactly that many hours;
* ``working_days``: the deadline is the end of the N-th working day after the day of the report
  (« sous 2 jours ouvrés »: a report made on Friday evening before Whit Monday is due at the end
  of Wednesday) — the closing time when the calendar has service hours, else local midnight;
* ``working_hours``: N hours of the calendar's service hours on its working days (a report at
  19:00 with service hours 08:00–18:00 starts counting the next working morning);
* ``source``: the deadline the source system gave the request (``source_expected_at``); a
  request without one is not judged by that norm.

Working days and hours use the norm's calendar (``norms.calendars``, the default one when the
norm names none), whose days are a table: every deadline is a pair of joins on (calendar, day)
and (calendar, working-day ordinal), computed in local wall-clock time of the territory
(``OVA_TIMEZONE``) and converted back to an instant, so no deadline moves by an hour at a
daylight-saving change. Norms with ``pauses_on_hold`` add the time the incident spent on hold
(``incident_holds``, an open hold counting up to now), measured in the norm's own unit.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.engine import Connection

from ova.settings import timezone_name

#: The scope rule of response-delay norm ``n`` for incident ``i`` (``z``: its zone version, LEFT
#: JOINed on ``i.zone_id``), shared by the deadlines, the compliance engine and the drill-down.
INCIDENT_IN_SCOPE = """(n.scope = 'territory'
           OR (n.scope = 'quartier' AND n.quartier_id = i.quartier_id)
           OR (n.scope = 'priority_zones' AND i.zone_id IS NOT NULL
               AND (n.quartier_id IS NULL OR n.quartier_id = i.quartier_id))
           OR (n.scope = 'zone' AND z.code = n.zone_code))"""

#: The columns of a response-delay norm the deadline needs, for a norm subquery aliased ``n``:
#: its calendar resolved to the default one when it names none.
NORM_DEADLINE_COLUMNS = ("n.delay_value, n.delay_unit, n.pauses_on_hold, "
                         "coalesce(n.calendar_id, (SELECT c.id FROM calendars c WHERE c.is_default "
                         "ORDER BY c.id LIMIT 1)) AS calendar_ref")


def _position(day: str, instant: str, cal: str) -> str:
    """Working seconds of calendar ``cal`` from its first day to ``instant`` (``day``: its
    ``calendar_days`` row). Within a day, service time is counted from the opening instant
    (a daylight-saving change during service hours would count as it happens: none do in
    France, where clocks change at 2 or 3 a.m.)."""
    length = f"extract(epoch FROM {cal}.closes - {cal}.opens)"
    return (f"(({day}.worked_through - ({day}.ordinal IS NOT NULL)::int) * {length} + CASE WHEN {day}.ordinal "
            f"IS NOT NULL THEN least(greatest(extract(epoch FROM {instant} - {day}.opens_at), 0), {length}) "
            "ELSE 0 END)")


def _holds(as_of: str) -> str:
    """The holds, an open one running to ``as_of``."""
    return (f"(SELECT h.incident_id, h.started_at, greatest(coalesce(h.ended_at, {as_of}), h.started_at) AS stop "
            "FROM incident_holds h)")


def _hold_totals(as_of: str) -> str:
    """Per (incident, calendar): the time on hold in working seconds and working days."""
    return f"""(SELECT h.incident_id, c.id AS calendar_id,
                   sum({_position('e', 'h.stop', 'c')} - {_position('s', 'h.started_at', 'c')}) AS working_s,
                   sum((e.worked_through - (e.ordinal IS NOT NULL)::int)
                       - (s.worked_through - (s.ordinal IS NOT NULL)::int)) AS working_days
            FROM {_holds(as_of)} h
            CROSS JOIN calendars c
            JOIN calendar_days s ON s.calendar_id = c.id AND s.day = (h.started_at AT TIME ZONE :tz)::date
            JOIN calendar_days e ON e.calendar_id = c.id AND e.day = (h.stop AT TIME ZONE :tz)::date
            GROUP BY h.incident_id, c.id)"""


#: Per (norm, day) of the working-unit response-delay norms, on the days each is valid: everything
#: a deadline needs that does not depend on the instant of the report within its day, so that a
#: deadline costs one hash join on (norm, local day) and a few comparisons of instants per incident.
#: A delay of N working hours is ``whole`` service days of ``length`` seconds plus ``rest`` seconds;
#: it ends on the working day
#: ``k`` joined as ``e`` (its own close for N working days), on the next one (``e_next``), or at
#: the close of the previous one (``e_previous``); see :func:`deadline_sql` for how they are used.
_WORKING_DEADLINE_DAYS = """SELECT u.norm_id, d.day, d.worked_through,
                   d.ordinal IS NOT NULL AS worked, u.length, d.opens_at AS day_opens,
                   CASE WHEN d.ordinal IS NOT NULL THEN d.closes_at ELSE d.opens_at END AS day_closes,
                   CASE WHEN u.delay_unit = 'working_days' THEN e.closes_at END AS days_deadline,
                   d.opens_at + u.threshold AS threshold,
                   e_previous.opens_at + u.day_length AS at_opening,
                   -- Elapsed seconds only: an interval with a days part would be added in local time.
                   make_interval(secs => date_part('epoch', e.opens_at) - date_part('epoch', d.opens_at) + u.rest)
                       AS before_shift,
                   make_interval(secs => date_part('epoch', e_next.opens_at) - date_part('epoch', d.opens_at) + u.rest
                                         - u.length) AS after_shift
            FROM (SELECT v.*, make_interval(secs => v.length - v.rest) AS threshold,
                         make_interval(secs => v.length) AS day_length
                  FROM (SELECT w.*, w.delay_value * 3600.0::float8 - w.whole * w.length AS rest
                        FROM (SELECT n.id AS norm_id, c.id AS calendar_id, n.delay_unit, n.delay_value, n.valid_from,
                                     n.valid_to, date_part('epoch', c.closes - c.opens) AS length,
                                     floor(n.delay_value * 3600.0::float8 / date_part('epoch', c.closes - c.opens))::int
                                         AS whole
                              FROM norms n JOIN calendars c ON c.id = coalesce(n.calendar_id,
                                  (SELECT c2.id FROM calendars c2 WHERE c2.is_default ORDER BY c2.id LIMIT 1))
                              WHERE n.metric = 'response_delay' AND n.delay_unit IN ('working_days', 'working_hours')
                                AND n.delay_value IS NOT NULL) w) v) u
            JOIN calendar_days d ON d.calendar_id = u.calendar_id AND d.day >= u.valid_from
                                AND (u.valid_to IS NULL OR d.day < u.valid_to) {bounds}
            LEFT JOIN calendar_days e ON e.calendar_id = u.calendar_id AND e.ordinal = d.worked_through + CASE u.delay_unit
                WHEN 'working_days' THEN u.delay_value ELSE u.whole + 1 - (d.ordinal IS NOT NULL)::int END
            -- Index probes: a NULL key (a day not needed by the unit) finds nothing at once.
            LEFT JOIN calendar_days e_next ON e_next.calendar_id = u.calendar_id
                  AND e_next.ordinal = CASE WHEN u.delay_unit = 'working_hours' THEN e.ordinal + 1 END
            LEFT JOIN calendar_days e_previous ON e_previous.calendar_id = u.calendar_id
                  AND e_previous.ordinal = CASE WHEN u.delay_unit = 'working_hours' AND u.rest = 0 THEN e.ordinal - 1 END"""


def working_deadlines_cte(first_day: str | None = None, last_day: str | None = None) -> str:
    """The CTE ``dl_working`` (:data:`_WORKING_DEADLINE_DAYS`) that :func:`deadline_sql` joins.

    MATERIALIZED: computed once per statement, never re-evaluated per incident; ``first_day`` and
    ``last_day`` (SQL of dates, bounds included) restrict it to the days the statement judges.
    """
    bounds = "".join(f" AND d.day {op} {sql}" for op, sql in ((">=", first_day), ("<=", last_day)) if sql)
    return f"dl_working AS MATERIALIZED ({_WORKING_DEADLINE_DAYS.format(bounds=bounds)})"


def deadline_sql(i: str = "i", n: str = "n", *, incident_id: str | None = "id",
                 source_deadline: str | None = "source_expected_at", as_of: str = "now()",
                 local_day: str | None = None, norm_id: str = "norm_id") -> tuple[str, str]:
    """``(joins, expression)``: the deadline of incident ``i`` under norm ``n`` (see module docstring).

    ``n`` must expose :data:`NORM_DEADLINE_COLUMNS`; ``incident_id`` is the incident's key column
    (None for rows not yet in ``incidents``: no holds), ``source_deadline`` its source deadline
    column (None when the relation has none), ``as_of`` the SQL instant open holds run to,
    ``local_day`` the SQL of the report's day in the territory's calendar when the relation already
    has it (else converted here), ``norm_id`` the norm's key column in ``n``. The statement binds
    ``:tz`` (see :func:`deadline_params`). Aliases ``dl_*`` are taken.

    The statement must define :func:`working_deadlines_cte`. A working-unit deadline is one row
    of it (``dl_w``): N working days end at ``days_deadline`` (the close of the N-th working day
    after the report's day). N working hours are counted from the report's instant clamped to the
    day's service hours (its opening on a day off), ``p`` seconds into the day: they end
    ``p + rest`` seconds into the service day that follows ``whole`` more ones (the clamped
    instant + ``before_shift``), or into the next one once ``p + rest`` passes a day's length
    (``threshold``; + ``after_shift``), or at the close of the last whole day when both are 0
    (``at_opening``). An incident put on hold under a norm that pauses takes the general path
    (its own end day, the time on hold added).
    """
    source = f"{i}.{source_deadline}" if source_deadline else "NULL::timestamptz"
    day = local_day or f"({i}.reported_at AT TIME ZONE :tz)::date"
    joins = f"""
        LEFT JOIN dl_working dl_w
               ON dl_w.norm_id = {n}.{norm_id} AND dl_w.day = {day}"""
    clamped = f"greatest(least({i}.reported_at, dl_w.day_closes), dl_w.day_opens)"
    into_day = f"({clamped} - dl_w.day_opens)"
    working_days = "dl_w.days_deadline"
    working_hours = (f"(CASE WHEN dl_w.at_opening IS NOT NULL AND least({i}.reported_at, dl_w.day_closes) <= dl_w.day_opens "
                     f"THEN dl_w.at_opening ELSE {clamped} + CASE WHEN {clamped} <= dl_w.threshold "
                     "THEN dl_w.before_shift ELSE dl_w.after_shift END END)")
    held_s = "0"
    if incident_id:
        joins += f"""
        LEFT JOIN (SELECT h.incident_id, sum(date_part('epoch', h.stop - h.started_at)) AS elapsed_s
                   FROM {_holds(as_of)} h GROUP BY h.incident_id) dl_he
               ON {n}.pauses_on_hold AND {n}.delay_unit = 'hours' AND dl_he.incident_id = {i}.{incident_id}
        LEFT JOIN {_hold_totals(as_of)} dl_h
               ON {n}.pauses_on_hold AND {n}.delay_unit IN ('working_days', 'working_hours')
              AND dl_h.incident_id = {i}.{incident_id} AND dl_h.calendar_id = {n}.calendar_ref"""
        held_s = "coalesce(dl_he.elapsed_s, 0)"
        # The general path, for an incident on hold only: a subquery run for those rows alone.
        target = (f"(((dl_w.worked_through - dl_w.worked::int) * dl_w.length + date_part('epoch', {into_day})) "
                  f"+ {n}.delay_value * 3600.0 + dl_h.working_s)")
        end_day = ("(SELECT e.{column} FROM calendar_days e "
                   f"WHERE e.calendar_id = {n}.calendar_ref AND e.ordinal = {{ordinal}})")
        held_days = end_day.format(column="closes_at", ordinal=f"dl_w.worked_through + {n}.delay_value "
                                                               "+ dl_h.working_days::int")
        held_hours = end_day.format(column="opens_at", ordinal=f"ceil({target} / dl_w.length)::int")
        working_days = f"(CASE WHEN dl_h.incident_id IS NULL THEN {working_days} ELSE {held_days} END)"
        working_hours = (f"(CASE WHEN dl_h.incident_id IS NULL THEN {working_hours} ELSE {held_hours} + make_interval("
                         f"secs => {target} - (ceil({target} / dl_w.length) - 1) * dl_w.length) END)")
    expression = f"""(CASE {n}.delay_unit
        WHEN 'hours' THEN {i}.reported_at + make_interval(hours => {n}.delay_value, secs => {held_s})
        WHEN 'working_days' THEN {working_days}
        WHEN 'working_hours' THEN {working_hours}
        WHEN 'source' THEN {source} END)"""
    return joins, expression


def deadline_params() -> dict:
    """The bind parameters of :func:`deadline_sql`: the territory's time zone."""
    return {"tz": timezone_name()}


_APPLICABLE = """
    WITH {working}
    SELECT DISTINCT ON (d.id) d.id, d.norm_id, d.expected_at
    FROM (
        SELECT i.id, n.norm_id, {deadline} AS expected_at
        FROM (SELECT i.{id} AS id, i.category, i.quartier_id, i.zone_id, i.reported_at, {source} AS source_expected_at,
                     (i.reported_at AT TIME ZONE :tz)::date AS local_day
              FROM {relation} i WHERE {where}) i
        -- One row per (norm, category) so that the planner can hash-join on the category.
        JOIN (SELECT n.id AS norm_id, n.scope, n.quartier_id, n.zone_code, n.valid_from, n.valid_to,
                     {norm_columns}, unnest(n.category_codes) AS category
              FROM norms n WHERE n.metric = 'response_delay') n ON n.category = i.category
        LEFT JOIN priority_zones z ON z.id = i.zone_id
        {joins}
        WHERE i.local_day >= n.valid_from
          AND (n.valid_to IS NULL OR i.local_day < n.valid_to)
          AND {in_scope}
    ) d
    WHERE d.expected_at IS NOT NULL
    ORDER BY d.id, d.expected_at, d.norm_id
"""

_UPDATE = """
    WITH target AS (SELECT id, source_expected_at FROM incidents i WHERE {where}),
         applicable AS ({applicable})
    UPDATE incidents i SET expected_at = a.expected_at, norm_id = a.norm_id
    FROM (SELECT t.id, a.norm_id, coalesce(a.expected_at, t.source_expected_at) AS expected_at
          FROM target t LEFT JOIN applicable a USING (id)) a
    WHERE i.id = a.id AND (i.expected_at, i.norm_id) IS DISTINCT FROM (a.expected_at, a.norm_id)
"""


def refresh_deadlines(conn: Connection, incident_ids: Sequence[int] | None = None) -> int:
    """Recompute ``expected_at``/``norm_id`` of the given incidents (all when None); returns rows changed."""
    from norms.calendars import ensure_calendar_range

    if incident_ids is None:
        where, params = "true", {}
    else:
        where, params = "i.id = ANY (:ids)", {"ids": list(incident_ids)}
    ensure_calendar_range(conn, "incidents", where, params)
    sql = _UPDATE.format(where=where, applicable=applicable_sql("incidents", "id", where, incident_key=True))
    return conn.execute(text(sql), {**params, **deadline_params()}).rowcount


def applicable_sql(relation: str, id_column: str = "id", where: str = "true", *, incident_key: bool = False,
                   source_deadline: str | None = "source_expected_at") -> str:
    """SELECT of (id, norm_id, expected_at) for the rows of ``relation`` that a norm applies to.

    ``relation`` is ``incidents`` or a table shaped like it (``category``, ``quartier_id``,
    ``zone_id``, ``reported_at``; e.g. the loader's merge table, keyed by ``_row``), so a load
    sets deadlines while it writes rows instead of updating them afterwards. ``incident_key``: the
    id is an incident id (its holds count); ``source_deadline``: the relation's source-deadline
    column, or None. Binds ``:tz``.
    """
    joins, deadline = deadline_sql("i", "n", incident_id="id" if incident_key else None,
                                   source_deadline="source_expected_at", local_day="i.local_day")
    source = f"i.{source_deadline}" if source_deadline else "NULL::timestamptz"
    # The days of the rows judged (every incident: no bound, the scan would cost more than it saves).
    span = ("", "") if (relation, where) == ("incidents", "true") else tuple(
        f"(SELECT {agg}((i.reported_at AT TIME ZONE :tz)::date) FROM {relation} i WHERE {where})" for agg in ("min", "max"))
    return _APPLICABLE.format(working=working_deadlines_cte(*[b or None for b in span]),
                              relation=relation, id=id_column, where=where, in_scope=INCIDENT_IN_SCOPE,
                              norm_columns=NORM_DEADLINE_COLUMNS, joins=joins, deadline=deadline, source=source)
