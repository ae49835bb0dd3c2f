"""Open311 GeoReport v2 endpoint of the portal (services, requests)."""
