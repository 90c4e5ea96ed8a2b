"""Parameters, configuration and numeric outputs shared by the two SNN training algorithms (slope units and
pixels)."""

from qgis.core import (
    QgsApplication,
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
)

from .base import DEVICE_LABELS
from .compat import NUMBER_INTEGER

COMPARISON_OUTPUTS = (
    ("AUC", "SNN test AUC"),
    ("AUC_TEACHER", "Teacher test AUC"),
    ("AUC_LOGISTIC", "Logistic regression test AUC"),
    ("AUC_LIKELIHOOD_RATIO", "Likelihood-ratio model test AUC"),
    ("THRESHOLD", "S_t threshold"),
)
"""Numeric outputs of both algorithms, all on the same test split."""


def add_level(alg) -> None:
    """The LEVEL parameter of composite features."""
    alg.add(QgsProcessingParameterNumber(alg.LEVEL, "Composite level", NUMBER_INTEGER, 2, minValue=1, maxValue=3),
            "1: single features; 2: also the product of every pair (the paper's best trade-off); 3: also "
            "triples (gcd rule).")  # fmt: skip


def add_schedule(alg) -> None:
    """TOURNAMENT_MODELS and FKD_ITERATIONS (advanced), with the authors' defaults."""
    alg.add(QgsProcessingParameterNumber(alg.TOURNAMENT_MODELS, "Tournament networks", NUMBER_INTEGER, 4000,
                                         minValue=10),
            "Networks of the backward-elimination tournament (authors' code: 4000).", advanced=True)  # fmt: skip
    alg.add(QgsProcessingParameterNumber(alg.FKD_ITERATIONS, "Distillation iterations", NUMBER_INTEGER, 50,
                                         minValue=1),
            "Iterations of fractional knowledge distillation (authors' code: 50).", advanced=True)  # fmt: skip


def add_seed_and_device(alg) -> None:
    """SEED, DEVICE and THREADS (advanced)."""
    alg.add(QgsProcessingParameterNumber(alg.SEED, "Random seed", NUMBER_INTEGER, 0),
            "The same seed gives the same model on the CPU.")  # fmt: skip
    alg.add(QgsProcessingParameterEnum(alg.DEVICE, "Device", DEVICE_LABELS, defaultValue=0),
            "Where the batched networks are trained.", advanced=True)  # fmt: skip
    alg.add(QgsProcessingParameterNumber(alg.THREADS, "CPU threads", NUMBER_INTEGER, 0, minValue=0),
            "Threads torch uses on the CPU. 0: QGIS's 'Max cores to use' (Settings ▸ Options ▸ Rendering) when "
            "set, else torch's default (every core). 1 is fastest when other jobs keep the machine busy.",
            advanced=True)  # fmt: skip


def torch_threads(alg, parameters, context) -> int:
    """THREADS resolved: itself when > 0, else QGIS's maximum number of threads when the user set one, else 0
    (torch's default)."""
    threads = alg.parameterAsInt(parameters, alg.THREADS, context)
    return threads if threads > 0 else max(QgsApplication.maxThreads(), 0)


def add_comparison_outputs(alg, extra=()) -> None:
    """The numeric outputs of :data:`COMPARISON_OUTPUTS` and ``extra`` (key, label) pairs."""
    for key, label in (*COMPARISON_OUTPUTS, *extra):
        alg.addOutput(QgsProcessingOutputNumber(key, label))


def snn_config(alg, parameters, context, feedback, **extra):
    """The SNNConfig of the algorithm's LEVEL, schedule, SEED, DEVICE (the core resolves 'auto') and THREADS
    (logged), plus ``extra`` settings."""
    from ..core.snn import SNNConfig

    threads = torch_threads(alg, parameters, context)
    feedback.pushInfo(f"torch CPU threads: {threads or 'torch default'}")
    return SNNConfig(
        level=alg.parameterAsInt(parameters, alg.LEVEL, context),
        tournament_models=alg.parameterAsInt(parameters, alg.TOURNAMENT_MODELS, context),
        fkd_iterations=alg.parameterAsInt(parameters, alg.FKD_ITERATIONS, context),
        seed=alg.parameterAsInt(parameters, alg.SEED, context),
        device=("auto", "cpu", "cuda")[alg.parameterAsEnum(parameters, alg.DEVICE, context)],
        threads=threads,
        **extra,
    )


def comparison_results(run, feedback) -> dict:
    """Log the comparison table of ``run`` (:class:`..core.snn_units.SNNUnits`) and return the values of
    :data:`COMPARISON_OUTPUTS`."""
    table = {row["model"]: row["test AUC"] for row in run.comparison}
    for row in run.comparison:
        feedback.pushInfo(f"{row['model']}: test AUC {row['test AUC']:.3f}")
    return {
        "AUC": run.result.auc["test"],
        "AUC_TEACHER": run.result.teacher.auc["test"],
        "AUC_LOGISTIC": table["logistic regression"],
        "AUC_LIKELIHOOD_RATIO": table["likelihood-ratio model"],
        "THRESHOLD": run.result.threshold,
    }
