"""The PINN on demo regions (core/synthetic.py) whose true geotechnical parameters and probabilities are known:
spatial cross-validation against the true probability and the logistic baseline, retrieval of a_c."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from landslide_susceptibility.core import pinn
from landslide_susceptibility.core.synthetic import (
    CONTINUOUS_LAYERS,
    DemoRegionConfig,
    create_demo_region,
    region_unit_table,
)
from landslide_susceptibility.core.validation import roc_auc

FEATURES = [f"{name}_mean" for name in CONTINUOUS_LAYERS if name != "pga"]


def spatial_cv(config: DemoRegionConfig, folder) -> dict:
    """5-fold spatial CV of the PINN on a demo region, scored against its truth."""
    table, truth = region_unit_table(create_demo_region(folder, config))
    data = pinn.PINNData.from_frame(
        table, FEATURES, ["geology_maj"], "landslide", "slope_mean", "pga_mean", "g", x="x", y="y"
    )
    result = pinn.train_pinn(data, pinn.PINNConfig(threads=1, workers=2), ["spatial_kfold"], folds=5)
    assert result.model.config.depth == 0  # ~1,000–2,000 units: below DEEP_MIN_UNITS
    y, fold = data.label, result.outputs["spatial_cv_fold"].to_numpy()
    out = result.outputs
    scores = {
        "cv": result.metrics["cv"]["spatial_kfold"]["auc_mean"],
        "logistic": result.metrics["baseline"]["spatial_kfold"]["auc_mean"],
        "truth": np.mean([roc_auc(y[fold == k], truth["probability"].to_numpy()[fold == k]) for k in np.unique(fold)]),
        "ac_rho": spearmanr(out["ac_g"], truth["ac_g"]).correlation,
        "in_range": min(out["ct_kpa_m"].between(0.1, 50).mean(), out["phi_deg"].between(15, 55).mean()),
    }
    print(f"region seed {config.seed}, {config.size}² cells, {data.n_units} units: "
          + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))  # fmt: skip
    return scores


def test_the_default_demo_region(tmp_path):
    # The region of `make demo` (1,072 units): every check of the PINN holds on it.
    s = spatial_cv(DemoRegionConfig(), tmp_path)
    assert s["cv"] >= 0.95 * s["truth"] and s["cv"] >= s["logistic"]  # measured: 0.848, logistic 0.843, truth 0.876
    assert s["ac_rho"] >= 0.8 and s["in_range"] >= 0.95


@pytest.mark.parametrize("seed", [1, 2])
def test_spatial_cv_on_other_demo_regions(tmp_path, seed):
    # 400 × 400-cell regions: ~2,000 slope units.
    s = spatial_cv(DemoRegionConfig(seed=seed, size=400), tmp_path)
    assert s["cv"] >= 0.95 * s["truth"]
    # On ~2,000 units the two are level: over 20 regions (bench/pinn_regions.py) the paired difference averages
    # +0.001 ± 0.001, and single regions fall within ±0.01 of it (measured: −0.003 and +0.009 on seeds 1 and 2).
    assert s["cv"] >= s["logistic"] - 0.01
    assert s["ac_rho"] >= 0.8 and s["in_range"] >= 0.95
