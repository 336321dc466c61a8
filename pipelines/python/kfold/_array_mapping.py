"""ArrayMapping: the base of kfold's read-only mappings from AlphaFold's names to numpy arrays
(Features, Templates), equal when their keys and arrays are (a dict's too)."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np


class ArrayMapping(Mapping):
    """A Mapping whose ``==`` compares arrays by value: Mapping's own compared them with ``==``, whose
    element-wise result has no truth value (``f == g`` and ``f in [g]`` raised ValueError). A dict of the same
    arrays is equal too (``f == dict(f)``); another kind of ArrayMapping (Features and Templates) is not."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping) or (isinstance(other, ArrayMapping) and not isinstance(other, type(self))):
            return NotImplemented
        return self.keys() == other.keys() and all(np.array_equal(self[key], other[key]) for key in self)

    __hash__ = None  # mutable-looking values: unhashable, as a dict
