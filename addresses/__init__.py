"""The portal's own geocoder: address search and reverse search over the loaded addresses (BAN).

Framework-free: functions take a SQLAlchemy connection or session and return GeoJSON dicts in
the format of the BAN API (api-adresse.data.gouv.fr); ``portal/adresse`` adapts them to HTTP.
"""
