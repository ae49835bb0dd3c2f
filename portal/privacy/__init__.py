"""The privacy notice and the GDPR commands."""
