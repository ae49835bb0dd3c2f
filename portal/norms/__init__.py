"""Norms and compliance in the portal: dashboard /normes, OVA grid, norm editing, publications."""
