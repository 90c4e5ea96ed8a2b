"""Units of ground motion, in one place.

The physics works with peak ground acceleration (PGA) in g. Users hold PGA in g, in %g (USGS ShakeMap) or in
m/s²; :func:`pga_to_g` converts and :func:`check_pga_g` rejects values that cannot be in the unit claimed.
"""

from __future__ import annotations

import numpy as np

STANDARD_GRAVITY = 9.80665  # m/s² per g (the SI definition; used only for unit conversion)

PGA_UNITS = ("g", "%g", "m/s2")
"""PGA units in the order Processing enums list them."""

_PGA_FACTORS = {"g": 1.0, "%g": 0.01, "m/s2": 1.0 / STANDARD_GRAVITY}
_ALIASES = {"pct_g": "%g", "percent_g": "%g", "m/s²": "m/s2", "mps2": "m/s2", "ms-2": "m/s2"}

# Largest PGA ever recorded is about 4 g; typical damaging shaking lies in 0.02–1.5 g.
MAX_PLAUSIBLE_PGA_G = 4.0


def pga_unit(unit: str | int) -> str:
    """Normalise a PGA unit name (or its index in :data:`PGA_UNITS`) to one of :data:`PGA_UNITS`."""
    if isinstance(unit, (int, np.integer)):
        if not 0 <= int(unit) < len(PGA_UNITS):
            raise ValueError(f"PGA unit index {unit} is out of range: use 0 (g), 1 (%g) or 2 (m/s²)")
        return PGA_UNITS[int(unit)]
    name = _ALIASES.get(str(unit).strip(), str(unit).strip())
    if name not in _PGA_FACTORS:
        raise ValueError(f"unknown PGA unit {unit!r}: use one of {', '.join(PGA_UNITS)}")
    return name


def pga_to_g(values, unit: str | int) -> np.ndarray:
    """Convert PGA values from ``unit`` (g, %g or m/s2) to g."""
    return np.asarray(values, dtype=float) * _PGA_FACTORS[pga_unit(unit)]


def check_pga_g(pga_g, unit: str | int = "g", name: str = "PGA") -> None:
    """Raise ``ValueError`` when PGA values (already converted to g) are implausible for the unit claimed.

    Negative values are never valid. A maximum above 4 g means the values were most likely given in %g or
    m/s² while ``unit`` says otherwise; an all-tiny field in %g suggests values that were already in g.
    """
    values = np.asarray(pga_g, dtype=float)
    finite = values[np.isfinite(values)]
    unit = pga_unit(unit)
    if finite.size == 0:
        raise ValueError(f"{name} has no finite values")
    if (finite < 0).any():
        raise ValueError(f"{name} has negative values (min {finite.min():.4g}); PGA must be ≥ 0")
    peak = float(finite.max())
    if peak > MAX_PLAUSIBLE_PGA_G:
        hint = {"g": "are they in %g or m/s²?", "m/s2": "are they in %g?", "%g": "check the field"}[unit]
        raise ValueError(
            f"{name} reaches {peak:.3g} g after reading it as {unit}, above any recorded shaking "
            f"({MAX_PLAUSIBLE_PGA_G:g} g): {hint}"
        )
    if unit == "%g" and peak < 0.05:
        raise ValueError(
            f"{name} read as %g never exceeds {peak * 100:.3g} %g (= {peak:.3g} g): "
            "the values look like g already; choose the unit 'g'"
        )
