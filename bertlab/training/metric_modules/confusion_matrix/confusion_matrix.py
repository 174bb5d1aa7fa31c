"""Confusion matrix: counts of (true class, predicted class) pairs (bertlab's own module)."""

import datasets
import evaluate

from bertlab.training.metric_modules._core import confusion_matrix

_DESCRIPTION = "C[i][j] = number of examples of true class labels[i] predicted as labels[j]."

_KWARGS = """
Args:
    predictions (list of int): predicted class ids.
    references (list of int): true class ids.
    labels (list of int, optional): row/column order (default: sorted classes seen). Give all
        class ids (e.g. list(range(num_labels))) so an absent class still gets its row and column.
Returns:
    confusion_matrix (list of list of int): rows are true classes, columns predicted classes.
"""


class ConfusionMatrix(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("int64"),
                                        "references": datasets.Value("int64")}),
        )

    def _compute(self, predictions, references, labels=None):
        return {"confusion_matrix": confusion_matrix(references, predictions, labels).tolist()}
