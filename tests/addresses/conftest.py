"""The geocoder tests use ``ban_load`` and ``ban`` (tests/conftest.py): the shipped BAN file, loaded once."""
