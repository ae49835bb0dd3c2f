"""The incident pages reuse the domain tests' fixtures (photos, the voirie producer)."""
from tests.incidents.conftest import make_image, photo_dir, voirie  # noqa: F401
