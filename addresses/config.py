"""The pipelines of the geocoder, declared as lists of dotted paths (as addok's settings).

A city with other habits (another language, its own abbreviations) replaces a step by pointing
one of these lists to its own function; :func:`steps` loads a list once.
"""
from __future__ import annotations

import importlib
from functools import lru_cache

#: Steps applied to the names stored (street, city) when addresses are loaded.
NAME_STEPS = (
    "addresses.text.fold",
    "addresses.text.split_words",
    "addresses.text.expand_synonyms",
    "addresses.text.ordinal_words",
    "addresses.text.drop_stopwords",
)
#: Steps applied to a typed query: the name steps plus the house number and postcode taken out.
QUERY_STEPS = (
    "addresses.text.cut_length",
    "addresses.text.remove_noise",
    "addresses.text.fold",
    "addresses.text.split_words",
    "addresses.text.glue_ordinal",
    "addresses.text.extract_housenumber",
    "addresses.text.extract_postcode",
    "addresses.text.expand_synonyms",
    "addresses.text.ordinal_words",
    "addresses.text.drop_stopwords",
)


@lru_cache(maxsize=None)
def steps(paths: tuple[str, ...]) -> tuple:
    """The functions named by ``paths`` (``module.function``), imported once."""
    loaded = []
    for path in paths:
        module, _, name = path.rpartition(".")
        try:
            loaded.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError) as err:
            raise ValueError(f"unknown text step '{path}'") from err
    return tuple(loaded)
