"""Moderation of citizens' texts and photos (the producers' agents and admins)."""
