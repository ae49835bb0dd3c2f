"""Incidents: reports, their workflow and how they are read (no Flask; the portal adapts it)."""
