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


@pytest.mark.parametrize("seed", [1, 2])
def test_spatial_cv_on_a_demo_region(tmp_path, seed):
    # A 400 × 400-cell region: ~2,000 slope units.
    table, truth = region_unit_table(create_demo_region(tmp_path, DemoRegionConfig(seed=seed, size=400)))
    data = pinn.PINNData.from_frame(
        table, FEATURES, ["geology_maj"], "landslide", "slope_mean", "pga_mean", "g", x="x", y="y"
    )
    result = pinn.train_pinn(data, pinn.PINNConfig(threads=1, workers=2), ["spatial_kfold"], folds=5)
    assert result.model.config.depth == 0  # ~2,000 units: below DEEP_MIN_UNITS
    y, fold = data.label, result.outputs["spatial_cv_fold"].to_numpy()
    cv = result.metrics["cv"]["spatial_kfold"]["auc_mean"]
    logistic = result.metrics["baseline"]["spatial_kfold"]["auc_mean"]
    true_auc = np.mean([roc_auc(y[fold == k], truth["probability"].to_numpy()[fold == k]) for k in np.unique(fold)])
    out = result.outputs
    rho = spearmanr(out["ac_g"], truth["ac_g"]).correlation
    print(f"seed {seed}: CV AUC PINN {cv:.3f}, logistic {logistic:.3f}, truth {true_auc:.3f}; a_c rho {rho:.3f}")
    assert cv >= 0.95 * true_auc
    # On ~2,000 units the two are level: over 20 regions (bench/pinn_regions.py) the paired difference averages
    # 0.000 ± 0.001, and single regions fall within ±0.01 of it (measured: −0.003 and +0.008 on seeds 1 and 2).
    assert cv >= logistic - 0.01
    assert rho >= 0.8
    assert out["ct_kpa_m"].between(0.1, 50).mean() >= 0.95 and out["phi_deg"].between(15, 55).mean() >= 0.95
