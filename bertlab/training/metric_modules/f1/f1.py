"""F1 for classification (bertlab's own module; numpy arithmetic in bertlab.training.metric_modules._core)."""

import datasets
import evaluate

from bertlab.training.metric_modules._core import precision_recall_f1

_DESCRIPTION = "F1 = 2 tp / (2 tp + fp + fn), the harmonic mean of precision and recall."

_KWARGS = """
Args:
    predictions (list of int): predicted class ids.
    references (list of int): true class ids.
    average (str or None): "binary" (default; only pos_label is reported), "macro" (unweighted
        mean over classes), "micro" (from total counts), "weighted" (mean weighted by support),
        or None (one value per class, in `labels` order).
    pos_label (int): the positive class for average="binary" (default 1).
    labels (list of int, optional): the classes to report and average over (default: the
        sorted classes seen in references and predictions).
    zero_division (float): the value of a ratio whose denominator is 0 (default 0.0).
Returns:
    f1 (float, or list of float when average is None)
"""


class F1(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("int64"),
                                        "references": datasets.Value("int64")}),
        )

    def _compute(self, predictions, references, average="binary", pos_label=1, labels=None,
                 zero_division=0.0):
        value = precision_recall_f1(references, predictions, labels=labels, pos_label=pos_label,
                                    average=average, zero_division=zero_division)[2]
        return {"f1": value.tolist() if average is None else value}
