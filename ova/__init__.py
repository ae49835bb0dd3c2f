"""Core of Portail OVA: settings, database engine, schema and errors shared by every layer.

Nothing here imports Flask: ``etl``, ``layers`` and the norm engine build on this package,
and ``portal`` adapts it to the web.
"""
