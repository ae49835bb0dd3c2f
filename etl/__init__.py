"""ETL pipelines: extract → validate → reproject → load, one transaction per load (no Flask)."""
