"""Published layers: GeoJSON, catalogue, OGC API Features, tiles and downloads (no Flask)."""
