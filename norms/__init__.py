"""OVA norms (normes de qualité) and the spatial compliance engine (no Flask)."""
