"""Norm seed data (``norms.yml``), loaded by ``ova norms seed``."""
