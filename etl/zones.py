"""Priority-zone versions (zones commerciales prioritaires) → ``priority_zones``.

Natural key: (``code``, ``valid_from``). Each version is attached to the quartier containing a
point on its surface. After a change, incidents and establishments are placed again (a point
keeps the version valid when it was reported) and incident deadlines are refreshed.
"""
from __future__ import annotations

from etl.target import Field, Target
from norms.deadlines import refresh_deadlines
from ova.assignment import assign_points
from ova.models import ZONE_STATUSES, PriorityZone


class ZonesTarget(Target):
    name = "zones"
    table = "priority_zones"
    also_changes = ("incidents", "establishments")
    model = PriorityZone
    key = ("code", "valid_from")
    fields = (
        Field("code", required=True),
        Field("name", required=True),
        Field("valid_from", "date", required=True),
        Field("valid_to", "date"),
        Field("status", "enum", choices=ZONE_STATUSES),
        Field("source"),
    )
    geometry = "multipolygon"
    max_reject_rate = 0.0
    computed = {"quartier_id": "(SELECT q.id FROM quartiers q WHERE ST_Intersects(q.geom, "
                                "ST_PointOnSurface(s.wkb::geometry)) ORDER BY q.id LIMIT 1)"}

    def after_merge(self, conn, summary, merge):
        if merge.changed:
            summary.extra["incidents placed again"] = assign_points(conn, "incidents")["changed"]
            summary.extra["establishments placed again"] = assign_points(conn, "establishments")["changed"]
            summary.extra["deadlines refreshed"] = refresh_deadlines(conn)


TARGET = ZonesTarget()
