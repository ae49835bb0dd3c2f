"""Expected 12-month values of quartier T-Q1, computed by hand from conftest.py."""
import datetime as dt

Q1_12M = {
    "area_km2": 1.0,
    "population": 2000,
    # E1, E3–E8, E9 open on 2024-07-01 (E2 closed 2024-03-15, E10 only placed at a commune centroid)
    "establishments_active": 8,
    "establishments_created": 6,       # E3–E8, 2023-09-10
    "establishments_closed": 1,        # E2
    "establishments_per_km2": 8.0,
    "establishments_per_1000_inhabitants": 4.0,   # 8 / 2000 × 1000
    "establishments_active_prev12m": 3,           # E1, E2, E9 on 2023-07-01
    "establishments_trend_pct": 166.67,           # (8 − 3) / 3
    "incidents": 6,                    # i1–i6 (i7 is July in Paris, i8 rejected)
    "incidents_resolved": 3,           # i1 2 h, i2 4 h (simulated), i3 6 h
    "median_resolution_hours": 4.0,
    "resolution_simulated": True,
    "incidents_per_km2": 6.0,
    "incidents_per_1000_establishments": 750.0,   # 6 / 8 × 1000
    "incidents_per_1000_inhabitants": 3.0,        # 6 / 2000 × 1000
    "incidents_prev12m": 2,            # p1, p2
    "incidents_trend_pct": 200.0,      # (6 − 2) / 2
    "norms_met_share": None,           # extension point of the norms engine
}
AS_OF = dt.date(2024, 6, 1)  # reference month of the fixture
