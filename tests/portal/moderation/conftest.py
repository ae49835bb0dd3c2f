"""The moderation pages reuse the domain tests' fixtures (photos)."""
from tests.incidents.conftest import make_image  # noqa: F401
