"""ROC AUC from scores or probabilities (bertlab's own module).

Config "binary" (default): one score per example, higher = more likely `pos_label`.
Config "multiclass": one row of k scores per example (e.g. softmax probabilities), one-vs-rest.
"""

import datasets
import evaluate
import numpy as np

from bertlab.training.metric_modules._core import binary_auc, ovr_auc, roc_curve

_DESCRIPTION = ("Area under the ROC curve: the probability that a random positive example scores "
                "above a random negative one, ties counting one half.")

_KWARGS = """
Args:
    references (list of int): true class ids.
    prediction_scores: "binary" config: list of float (score of the positive class);
        "multiclass" config: list of lists of float, shape (n, k), column j scores class j.
    pos_label (int): binary config only, the positive class (default 1).
    average (str or None): multiclass only: "macro" (default), "weighted", or None (per class).
    return_curve (bool): binary only: also return roc_curve = {fpr, tpr, thresholds}.
Returns:
    roc_auc (float, or None when undefined: only one class in the references)
"""


class RocAuc(evaluate.Metric):
    def _info(self):
        if self.config_name == "multiclass":
            scores = datasets.Sequence(datasets.Value("float64"))
        elif self.config_name in ("binary", "default"):
            scores = datasets.Value("float64")
        else:
            raise ValueError(f"roc_auc config must be 'binary' or 'multiclass', got {self.config_name!r}")
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS,
            features=datasets.Features({"prediction_scores": scores,
                                        "references": datasets.Value("int64")}),
        )

    def _compute(self, references, prediction_scores, pos_label=1, average="macro", return_curve=False):
        refs = np.asarray(references)
        if self.config_name == "multiclass":
            value = ovr_auc(refs, np.asarray(prediction_scores, float), average=average)
            return {"roc_auc": value}
        is_positive = refs == pos_label
        out = {"roc_auc": binary_auc(is_positive, prediction_scores)}
        if return_curve:
            out["roc_curve"] = roc_curve(is_positive, prediction_scores)
        return out
