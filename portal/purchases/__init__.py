"""Planned purchases and the territorial diagnostic of public purchases (``/achats/a-venir``, ``/achats/diagnostic``)."""
