"""Fixtures of the hostile-input and fault-injection tests, reused from the packages they attack."""
from tests.layers.conftest import _layers_committed, test_layers  # noqa: F401  (committed OGC test layers)
from tests.portal.incidents.conftest import make_image  # noqa: F401
