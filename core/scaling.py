"""Feature scaling fitted on training rows only, stored as plain arrays so that models can be saved safely."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Scaler:
    """Affine map x' = (x − offset) / scale, per column."""

    offset: np.ndarray
    scale: np.ndarray
    kind: str  # "standard" (z-score) or "minmax" (to [0, 1] on the fitting rows)

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=float) - self.offset) / self.scale

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, dtype=float) * self.scale + self.offset

    def to_dict(self) -> dict:
        return {"kind": self.kind, "offset": self.offset.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> Scaler:
        return cls(np.asarray(data["offset"], float), np.asarray(data["scale"], float), str(data["kind"]))


def fit_scaler(x: np.ndarray, kind: str = "standard", names: list[str] | None = None) -> Scaler:
    """Fit a scaler on the rows of ``x`` (n × p). A constant column is an error, named in the message."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"need a 2-D array with at least 2 rows to fit a scaler, got shape {x.shape}")
    if kind == "standard":
        offset, scale = x.mean(axis=0), x.std(axis=0)
    elif kind == "minmax":
        offset, scale = x.min(axis=0), x.max(axis=0) - x.min(axis=0)
    else:
        raise ValueError(f"unknown scaling {kind!r}: use 'standard' or 'minmax'")
    constant = np.flatnonzero(~(scale > 0))
    if constant.size:
        label = [names[i] if names else f"column {i}" for i in constant]
        raise ValueError(f"constant feature(s) {', '.join(label)}: a constant carries no information; remove it")
    return Scaler(offset, scale, kind)
