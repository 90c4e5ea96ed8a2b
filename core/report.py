"""Self-contained HTML reports: metrics tables and figures with the images embedded, one file that opens anywhere."""

from __future__ import annotations

import base64
import html
import io
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import numpy as np

from .io import atomic_path

_CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; border-bottom: 3px solid #d73027; padding-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 1.8em; color: #333; }
table { border-collapse: collapse; margin: .6em 0 1.2em; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
figure { margin: 1em 0; display: inline-block; vertical-align: top; }
figcaption { font-size: .85em; color: #555; max-width: 520px; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: .4em .8em; }
.meta { color: #777; font-size: .85em; }
"""


@dataclass
class Report:
    """An HTML report built section by section; :meth:`write` saves it atomically."""

    title: str
    subtitle: str = ""
    parts: list = field(default_factory=list)

    def heading(self, text: str) -> Report:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")
        return self

    def paragraph(self, text: str, note: bool = False) -> Report:
        cls = ' class="note"' if note else ""
        self.parts.append(f"<p{cls}>{html.escape(text)}</p>")
        return self

    def table(self, rows: list, columns: Optional[list] = None, caption: str = "", digits: int = 3) -> Report:
        """A table from a list of dicts (or a pandas DataFrame); floats shown with ``digits`` decimals."""
        if hasattr(rows, "to_dict"):
            rows = rows.to_dict("records")
        if not rows:
            return self
        columns = columns or list(rows[0])
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c), digits))}</td>" for c in columns) + "</tr>" for r in rows
        )
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        self.parts.append(f"<table>{cap}<tr>{head}</tr>{body}</table>")
        return self

    def image(self, png: bytes, caption: str = "", width: int = 520) -> Report:
        data = base64.b64encode(png).decode("ascii")
        self.parts.append(
            f'<figure><img src="data:image/png;base64,{data}" width="{width}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
        return self

    def figure(self, fig, caption: str = "", width: int = 520) -> Report:
        """Embed a matplotlib figure (closed afterwards)."""
        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        return self.image(buf.getvalue(), caption, width)

    def to_html(self) -> str:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        sub = f"<p class='meta'>{html.escape(self.subtitle)}</p>" if self.subtitle else ""
        return (
            f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{html.escape(self.title)}</h1>{sub}"
            + "\n".join(self.parts)
            + f"<p class='meta'>Written {stamp} by the Landslide Susceptibility plugin.</p></body></html>"
        )

    def write(self, path: str | os.PathLike[str]) -> Path:
        target = Path(path)
        with atomic_path(target) as tmp:
            tmp.write_text(self.to_html(), encoding="utf-8")
        return target


def _fmt(value, digits: int) -> str:
    if value is None:
        return "–"
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return "–" if np.isnan(value) else ("∞" if value > 0 else "−∞")
        return f"{value:.{digits}f}" if abs(value) >= 10 ** (-digits) or value == 0 else f"{value:.2e}"
    return str(value)


# --------------------------------------------------------------------------------------------- figures


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # never a GUI backend: reports are written from worker threads and headless runs
    import matplotlib.pyplot as plt

    return plt


def roc_figure(curves: dict, title: str = "ROC curves"):
    """``curves``: label → (fpr, tpr, auc)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.8, 4.6))
    for label, (fpr, tpr, auc) in curves.items():
        ax.plot(fpr, tpr, lw=1.4, label=f"{label} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], color="#999", lw=0.8, ls="--")
    ax.set(xlabel="False-positive rate", ylabel="True-positive rate", title=title, xlim=(0, 1), ylim=(0, 1))
    ax.legend(fontsize=7, loc="lower right")
    return fig


def lines_figure(series: dict, xlabel: str, ylabel: str, title: str, logy: bool = False):
    """``series``: label → y values (x = 1..n)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for label, y in series.items():
        y = np.asarray(y, dtype=float)
        ax.plot(np.arange(1, y.size + 1), y, lw=1.1, label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if logy:
        ax.set_yscale("log")
    if 1 < len(series) <= 12:
        ax.legend(fontsize=7)
    return fig


def histogram_figure(values, xlabel: str, title: str, bins: int = 40, logx: bool = False):
    plt = _pyplot()
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    fig, ax = plt.subplots(figsize=(4.6, 3.4))
    if logx and v.size and (v > 0).all():
        edges = np.logspace(np.log10(v.min()), np.log10(v.max()) + 1e-9, bins)
        ax.hist(v, bins=edges, color="#4575b4")
        ax.set_xscale("log")
    else:
        ax.hist(v, bins=bins, color="#4575b4")
    ax.set(xlabel=xlabel, ylabel="Units", title=title)
    return fig


def map_figure(frame, column: str, title: str, cmap: str = "RdYlGn_r", vmin=None, vmax=None, log: bool = False):
    """A quick choropleth of a GeoDataFrame column (for reports written without QGIS)."""
    plt = _pyplot()
    from matplotlib.colors import LogNorm

    fig, ax = plt.subplots(figsize=(5.4, 5.0))
    values = frame[column].astype(float)
    norm = LogNorm(vmin=vmin or max(values[values > 0].min(), 1e-3), vmax=vmax or values.max()) if log else None
    frame.assign(_v=values).plot(
        column="_v",
        ax=ax,
        cmap=cmap,
        vmin=None if log else vmin,
        vmax=None if log else vmax,
        norm=norm,
        legend=True,
        linewidth=0.05,
        edgecolor="#555",
        missing_kwds={"color": "#ddd"},
    )
    ax.set_title(title)
    ax.set_axis_off()
    return fig


# --------------------------------------------------------------------------------------------- model reports


def _metric_row(name: str, metrics: dict) -> dict:
    return {
        "model": name,
        "AUC": metrics.get("auc"),
        "balanced accuracy": metrics.get("balanced_accuracy"),
        "F1": metrics.get("f1"),
        "threshold": metrics.get("threshold"),
        "TP": metrics.get("tp"),
        "FP": metrics.get("fp"),
        "FN": metrics.get("fn"),
        "TN": metrics.get("tn"),
    }


def pinn_report(result, label: np.ndarray, maps: Optional[dict] = None, source: str = "") -> Report:
    """The report of a PINN training run (:class:`.pinn.PINNResult`); ``label`` is the 0/1 label per unit and
    ``maps`` optional PNG maps (caption → bytes) drawn by the caller."""
    from .pinn import selection_start
    from .validation import roc_curve

    out = result.outputs
    metrics = result.metrics
    y = np.asarray(label)
    rep = Report("PINN landslide susceptibility", subtitle=source)
    config = result.model.config
    probability = {
        "scatter": "P(D > 5 cm) with Jibson's scatter (σ = 0.51 in log10 D)",
        "tempered": "Eq. 4, σ(D − 5), trained on a tempered logit",
        "eq4": "Eq. 4, σ(D − 5)",
    }[config.loss]
    rep.paragraph(
        "A physics-informed neural network (Dahal & Lombardo) retrieved C/t and φ per slope unit; the Newmark "
        "physics (Jibson 2007, " + f"mode '{config.physics_mode}'" + ") turned them, with slope and "
        "PGA, into the susceptibility. Metrics are on the test split, never used for training or model choice. "
        f"Network: {config.depth} hidden block(s) of {config.width}"
        + (", a linear path from the inputs" if config.linear_path else "")
        + f", dropout {config.dropout:g}, {config.epochs} epochs from a learning rate of {config.learning_rate:g}; "
        f"probability: {probability}. The network was kept at epoch {metrics['best_epoch']}, where its "
        f"validation AUC was highest from epoch {selection_start(config)} on."
    )
    rep.heading("Metrics")
    rows = [_metric_row("PINN (hold-out test split)", metrics["test"])]
    if "test" in metrics.get("baseline", {}):
        rows.append(_metric_row("logistic regression (same split)", metrics["baseline"]["test"]))
    rep.table(rows)
    cv_rows = []
    for scheme, cv in metrics.get("cv", {}).items():
        base = metrics.get("baseline", {}).get(scheme, {})
        cv_rows.append({
            "validation": scheme.replace("_", " "), "folds": len(cv["auc"]), "PINN AUC mean": cv["auc_mean"],
            "min": cv["auc_min"], "max": cv["auc_max"], "logistic AUC mean": base.get("auc_mean"),
            "logistic min": base.get("auc_min"), "logistic max": base.get("auc_max"),
        })  # fmt: skip
    if cv_rows:
        rep.table(cv_rows, caption="Cross-validation (each fold tested on units it never saw)")
    if "bootstrap" in metrics:
        b = metrics["bootstrap"]
        row = {"members": len(b["test_auc"]), "AUC mean": b["auc_mean"], "min": b["auc_min"], "max": b["auc_max"]}
        rep.table([row], caption="Bootstrap members, each tested on the units it left out")

    rep.heading("ROC curves")
    curves = {}
    test = (out["split"] == "test").to_numpy()
    fpr, tpr, _ = roc_curve(y[test], out["susceptibility"].to_numpy()[test])
    curves["hold-out test"] = (fpr, tpr, metrics["test"]["auc"])
    rep.figure(roc_figure(curves, "PINN, hold-out test split"))
    for scheme in metrics.get("cv", {}):
        prefix = {"random_kfold": "random_cv", "spatial_kfold": "spatial_cv"}[scheme]
        fold_curves = {}
        for f, auc in enumerate(metrics["cv"][scheme]["auc"], start=1):
            rows_f = (out[f"{prefix}_fold"] == f).to_numpy()
            if np.unique(y[rows_f]).size == 2:
                fpr, tpr, _ = roc_curve(y[rows_f], out[f"{prefix}_oof"].to_numpy()[rows_f])
                fold_curves[f"fold {f}"] = (fpr, tpr, auc)
        rep.figure(roc_figure(fold_curves, f"{scheme.replace('_', ' ')}: every fold"))

    rep.heading("Training")
    for kind, hist in result.history.items():
        losses = {f"member {i + 1}": v for i, v in enumerate(hist["loss"])}
        aucs = {f"member {i + 1}": v for i, v in enumerate(hist["val_auc"])}
        rep.figure(lines_figure(losses, "epoch", "training loss", f"Loss, {kind.replace('_', ' ')}"), width=430)
        rep.figure(lines_figure(aucs, "epoch", "validation AUC", f"Validation AUC, {kind.replace('_', ' ')}"),
                   width=430)  # fmt: skip

    rep.heading("Retrieved parameters")
    rep.figure(histogram_figure(out["ct_kpa_m"], "C/t (kPa/m)", "Cohesion over thickness", logx=True), width=340)
    rep.figure(histogram_figure(out["phi_deg"], "φ (degrees)", "Friction angle"), width=340)
    rep.figure(histogram_figure(out["ac_g"], "a_c (g)", "Critical acceleration"), width=340)
    for caption, png in (maps or {}).items():
        if png:
            rep.image(png, caption, width=480)
    return rep


def prediction_report(frame, kind: str, maps: Optional[dict] = None, source: str = "") -> Report:
    """The report of a prediction: distribution of the outputs and the maps (caption → PNG bytes)."""
    rep = Report(f"{kind.upper()} prediction", subtitle=source)
    column = "susceptibility" if kind == "pinn" else "snn_st"
    values = frame[column].astype(float)
    rep.table([{"units": len(frame), "mean": values.mean(), "median": values.median(), "max": values.max()}],
              caption=f"{column} per unit")  # fmt: skip
    if "pga_scenario_g" in frame:
        pga = frame["pga_scenario_g"].astype(float)
        rep.paragraph(f"Scenario PGA per unit: {pga.min():.3f}–{pga.max():.3f} g (mean {pga.mean():.3f} g).")
    for caption, png in (maps or {}).items():
        if png:
            rep.image(png, caption, width=480)
    rep.figure(histogram_figure(values, column, "Distribution over the units"), width=380)
    if kind == "pinn":
        rep.figure(histogram_figure(frame["ac_g"], "a_c (g)", "Critical acceleration"), width=380)
    return rep


def snn_report(run, frame, maps: Optional[dict] = None, source: str = "", items: str = "units") -> Report:
    """The report of an SNN training run (:class:`.snn_units.SNNUnits`) over the rows in ``frame`` (the feature
    values; ``items`` names them in the text: "units" or "pixels")."""
    from .snn import delta_s, likelihood_ratio_bins
    from .validation import roc_curve

    plt = _pyplot()
    result, y, model = run.result, run.label, run.result.model
    rep = Report("SNN landslide susceptibility", subtitle=source)
    rep.paragraph(
        "A superposable neural network (Youssef et al. 2023): the susceptibility S_t is the sum of one curve S_j "
        "per selected (composite) feature, each a small Gaussian-RBF network in the feature's raw units, so the value "
        f"of every one of the {items} is explained exactly by its contributions. All AUCs are on the same test split."
    )
    rep.heading("Comparison on the test split")
    rep.table(run.comparison, digits=3)
    rep.table([{"threshold (ROC point nearest (0,1))": result.threshold, "train AUC": result.auc["train"],
                "validation AUC": result.auc["val"], "test AUC": result.auc["test"],
                "features kept": len(model.names)}])  # fmt: skip
    rep.heading("Selected features, in rank order")
    rep.table([{"rank": i + 1, "feature": n} for i, n in enumerate(model.names)])
    test = run.split.test
    st = run.outputs["snn_st"].to_numpy()
    fpr, tpr, _ = roc_curve(y[test], st[test])
    rep.figure(roc_figure({"SNN": (fpr, tpr, result.auc["test"])}, "ROC, test split"), width=380)

    rep.heading("Contribution curves S_j with the likelihood ratio")
    chi = model.composites(frame[model.input_names].to_numpy(float))
    n = len(model.names)
    cols = int(np.ceil(np.sqrt(n)))
    fig, axes = plt.subplots(int(np.ceil(n / cols)), cols, figsize=(3.4 * cols, 2.7 * np.ceil(n / cols)),
                             squeeze=False)  # fmt: skip
    for j, (grid, curve) in enumerate(model.curves()):
        ax = axes.flat[j]
        ax.plot(grid, curve, color="#b2182b", lw=1.6)
        ax.set_title(model.names[j].replace(" & ", " &\n"), fontsize=8)
        ax.set_ylabel("S_j", fontsize=7)
        bins = likelihood_ratio_bins(chi[:, j], y, bins=10)
        twin = ax.twinx()
        centres = 0.5 * (bins.edges[:-1] + bins.edges[1:])
        twin.bar(centres, bins.ratio, width=np.diff(bins.edges) * 0.9, color="#4575b4", alpha=0.25)
        twin.set_ylabel("likelihood ratio", fontsize=7, color="#4575b4")
        ax.tick_params(labelsize=6)
        twin.tick_params(labelsize=6)
    for ax in list(axes.flat)[n:]:
        ax.set_axis_off()
    fig.tight_layout()
    rep.figure(fig, "Red: S_j (additive contribution); blue bars: likelihood ratio per decile", width=900)

    rep.heading(f"Which features separate landslide from stable {items}")
    contrib = run.outputs[[c for c in run.outputs.columns if c.startswith("s_")]].to_numpy()
    ds = delta_s(contrib, st, result.threshold)
    order = np.argsort(-np.nan_to_num(ds, nan=-np.inf))
    fig, ax = plt.subplots(figsize=(5.5, 0.3 * n + 1.2))
    ax.barh([model.names[i] for i in order][::-1], ds[order][::-1], color="#d73027")
    ax.set_xlabel("ΔS̄_j = mean S_j (ld) − mean S_j (nld)")
    rep.figure(fig, "ΔS̄_j over the whole area (ld: S_t above the threshold)", width=520)
    ld = st > result.threshold
    if ld.any() and (~ld).any():
        fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
        for ax, rows, title in ((axes[0], ld, f"ld {items}"), (axes[1], ~ld, f"nld {items}")):
            share = np.clip(contrib[rows].mean(axis=0), 0, None)
            ax.pie(share, labels=model.names, textprops={"fontsize": 6})
            ax.set_title(f"Mean S_j, {title}")
        rep.figure(fig, f"Share of the mean contributions in modelled landslide (ld) and stable (nld) {items}", 700)
    for caption, png in (maps or {}).items():
        if png:
            rep.image(png, caption, width=480)
    return rep
