"""Keys of stored names: what the loader writes in ``addresses.*_key`` for the geocoder."""
from __future__ import annotations

from addresses import config, text


def name_key(name: str | None) -> str | None:
    """The comparison key of a street or city name (:data:`addresses.config.NAME_STEPS`)."""
    if name is None:
        return None
    return text.run(config.steps(config.NAME_STEPS), name).key()
