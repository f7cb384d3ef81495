"""The small vocabulary the risk-model modules share."""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]
# Model inputs by name, one value per unit: a column of a feature mart, or one patient's record.
Inputs = Mapping[str, NDArray[Any] | Sequence[Any]]
