"""Accuracy: the fraction of predictions equal to the reference class (bertlab's own module)."""

import datasets
import evaluate

from bertlab.training.metric_modules._core import accuracy

_DESCRIPTION = "Accuracy = correct predictions / all predictions."

_KWARGS = """
Args:
    predictions (list of int): predicted class ids.
    references (list of int): true class ids.
    normalize (bool): False returns the number of correct predictions instead of the fraction.
    sample_weight (list of float, optional): per-example weights.
Returns:
    accuracy (float)
"""


class Accuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("int64"),
                                        "references": datasets.Value("int64")}),
        )

    def _compute(self, predictions, references, normalize=True, sample_weight=None):
        return {"accuracy": accuracy(references, predictions, normalize, sample_weight)}
