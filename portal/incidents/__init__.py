"""Incident reports, the service workflow and the Open311-facing domain functions."""
