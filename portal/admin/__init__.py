"""Administration pages (admins only): the audit log of changes."""
