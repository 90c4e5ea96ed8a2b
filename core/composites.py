"""Composite features of the superposable neural network (SNN): monomials of the raw input features.

Level 1 is the raw features x_i; Level 2 adds the products x_i·x_j (i < j); Level L adds every monomial
Π x_i^e_i of total degree ≤ L whose exponents have greatest common divisor 1 (Youssef et al. 2023,
Methods: a composite that is a power or rescaling of another, such as x_1²·x_2² = (x_1·x_2)², carries
no new information). Pure powers x_i^d (d ≥ 2) have gcd d and are therefore excluded; for n = 15 inputs
this gives 120 features at Level 2 and 785 at Level 3. Products are of the raw (unscaled) values, as in
the authors' code: the composites are physical quantities (e.g. rainfall × slope) and the scaling
that follows does not change which function a product represents.

Order: by degree; within a degree by the number of distinct factors, most first (x1·x2·x3 before
x1²·x2), then lexicographically by the indices of the factors with the largest exponents first — the
order of the paper's Example 1.
"""

from __future__ import annotations

import itertools
from functools import reduce
from math import gcd

import numpy as np

MAX_LEVEL = 4


def composite_terms(n_features: int, level: int) -> list:
    """Exponent tuples (length ``n_features``) of every composite up to ``level``, in the documented order."""
    if n_features < 1:
        raise ValueError(f"need at least 1 input feature, got {n_features}")
    if not 1 <= level <= MAX_LEVEL:
        raise ValueError(f"composite level must be 1…{MAX_LEVEL}, got {level}")
    terms = []
    for degree in range(1, level + 1):
        by_degree = []
        for exps in _partitions(degree):
            if reduce(gcd, exps) != 1:
                continue
            distinct = len(exps)
            for idx in itertools.permutations(range(n_features), distinct):
                # Factors with equal exponents are unordered: keep increasing indices within equal exponents.
                if any(exps[a] == exps[a + 1] and idx[a] > idx[a + 1] for a in range(distinct - 1)):
                    continue
                e = [0] * n_features
                for i, k in zip(idx, exps):
                    e[i] = k
                by_degree.append((-distinct, tuple(-k for k in exps), idx, tuple(e)))
        by_degree.sort()
        terms.extend(t[-1] for t in by_degree)
    return terms


def _partitions(total: int, largest: int | None = None) -> list:
    """Integer partitions of ``total`` as non-increasing tuples."""
    largest = total if largest is None else largest
    if total == 0:
        return [()]
    out = []
    for first in range(min(total, largest), 0, -1):
        out.extend((first, *rest) for rest in _partitions(total - first, first))
    return out


def composite_name(exponents: tuple | list, names: list[str]) -> str:
    """'A', 'A*B', 'A^2*B' for an exponent tuple over ``names``."""
    parts = []
    order = sorted((i for i, k in enumerate(exponents) if k), key=lambda i: (-exponents[i], i))
    for i in order:
        parts.append(names[i] if exponents[i] == 1 else f"{names[i]}^{exponents[i]}")
    return "*".join(parts)


def build_composites(x: np.ndarray, terms: list) -> np.ndarray:
    """The composite features [n, len(terms)] (float64) of raw features ``x`` [n, p]."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"features must be an n × p array, got shape {x.shape}")
    out = np.empty((x.shape[0], len(terms)), dtype=float)
    for j, e in enumerate(terms):
        if len(e) != x.shape[1]:
            raise ValueError(f"composite {j} has {len(e)} exponents for {x.shape[1]} features")
        col = np.ones(x.shape[0])
        for i, k in enumerate(e):
            if k:
                col = col * x[:, i] ** k
        out[:, j] = col
    return out
