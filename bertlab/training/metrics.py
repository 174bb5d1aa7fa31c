"""Classification metrics for fine-tuning and evaluation, computed with `evaluate`, offline.

The metric modules are bertlab's own (bertlab/training/metric_modules/<name>/<name>.py), loaded by local
folder path, so `evaluate.load` never asks the hub for anything. They are loaded once per process
and cached. `evaluate` imports transformers (and so torch) when it is imported, so this module
imports it only inside the functions: importing bertlab.training.metrics stays cheap for the web page.

    classification_metrics(labels=[0, 1, 1], probs=[[.8, .2], [.3, .7], [.6, .4]],
                           label_names=["negative", "positive"])
    -> {"accuracy": 0.667, "f1": 0.667, ..., "confusion_matrix": [[1, 0], [1, 1]], "n": 3}
"""

from __future__ import annotations

import threading
from typing import Any, Sequence

import numpy as np

from .metric_modules import path as module_path

ROC_POINTS = 200  # the ROC curve sent to the page is thinned to at most this many points

_modules: dict[tuple[str, str | None], Any] = {}
_load_lock = threading.Lock()
# evaluate.Metric objects keep per-call state (the batch they are computing), so one shared object
# must not compute for two threads at once; metrics are cheap next to the model, a lock is enough.
_compute_lock = threading.Lock()


def load_metric(name: str, config_name: str | None = None):
    """The evaluate module `name` (accuracy, precision, recall, f1, roc_auc, confusion_matrix),
    loaded from bertlab's own folder the first time and cached after that."""
    key = (name, config_name)
    with _load_lock:
        if key not in _modules:
            import evaluate

            # keep_in_memory: no Arrow cache files under ~/.cache for a few thousand numbers.
            _modules[key] = evaluate.load(module_path(name), config_name, keep_in_memory=True)
        return _modules[key]


def _thin_curve(fpr: list[float], tpr: list[float], max_points: int = ROC_POINTS) -> dict[str, list[float]]:
    """At most `max_points` points of a ROC curve, spread evenly along its length.

    Spacing by distance travelled along the curve (not by index) keeps the steep early part, where
    most of the points of a good classifier are bunched, as well drawn as the flat tail. The first
    point (0, 0) and the last (1, 1) are always kept.
    """
    f, t = np.asarray(fpr, float), np.asarray(tpr, float)
    if len(f) <= max_points:
        return {"fpr": f.tolist(), "tpr": t.tolist()}
    travelled = np.r_[0.0, np.cumsum(np.abs(np.diff(f)) + np.abs(np.diff(t)))]
    targets = np.linspace(0.0, travelled[-1], max_points)
    keep = np.unique(np.r_[0, np.searchsorted(travelled, targets).clip(0, len(f) - 1), len(f) - 1])
    if len(keep) > max_points:  # rounding collisions can only shrink, but be exact about the cap
        keep = keep[np.linspace(0, len(keep) - 1, max_points).round().astype(int)]
    return {"fpr": f[keep].tolist(), "tpr": t[keep].tolist()}


def classification_metrics(labels: Sequence[int], probs, label_names: Sequence[str]) -> dict[str, Any]:
    """All the figures the page, the run's results.json and `bertlab evaluate` show.

    labels: true class ids (n,); probs: predicted probabilities or scores (n, k), one column per
    class in `label_names` order. Predictions are the argmax of each row.

    Returns flat keys: accuracy; precision, recall, f1 (binary with positive = class 1 when there
    are two classes, macro otherwise); precision_macro, recall_macro, f1_macro; roc_auc (binary, or
    one-vs-rest macro; None when undefined, e.g. a class absent from `labels`); confusion_matrix
    (rows = true class); per_class; roc_curve ({fpr, tpr}, two classes only, else None); n.
    """
    names = [str(x) for x in label_names]
    k = len(names)
    refs = np.asarray(labels)
    scores = np.asarray(probs, dtype=float)
    if k < 2:
        raise ValueError(f"classification metrics need at least two classes, got {names}")
    if scores.ndim != 2 or scores.shape[1] != k:
        raise ValueError(f"probs must have shape (n, {k}) for {k} label names, got {scores.shape}")
    if refs.ndim != 1 or len(refs) != scores.shape[0]:
        raise ValueError(f"{refs.shape} labels for {scores.shape[0]} rows of probabilities")
    if len(refs) == 0:
        raise ValueError("no examples to score")
    if refs.min() < 0 or refs.max() >= k:
        raise ValueError(f"label ids must be in 0..{k - 1}, got {sorted(set(refs.tolist()))}")
    refs = refs.astype(np.int64)
    preds = scores.argmax(axis=1).astype(np.int64)
    ids = list(range(k))  # every class gets a row, column and per-class entry, present or not
    data = {"predictions": preds, "references": refs}

    acc_m, p_m, r_m, f_m = (load_metric(n) for n in ("accuracy", "precision", "recall", "f1"))
    cm_m = load_metric("confusion_matrix")
    auc_m = load_metric("roc_auc") if k == 2 else load_metric("roc_auc", "multiclass")
    with _compute_lock:
        out: dict[str, Any] = {"accuracy": acc_m.compute(**data)["accuracy"]}
        per = {name: m.compute(**data, average=None, labels=ids)[name]
               for name, m in (("precision", p_m), ("recall", r_m), ("f1", f_m))}
        for name, m in (("precision", p_m), ("recall", r_m), ("f1", f_m)):
            out[f"{name}_macro"] = m.compute(**data, average="macro", labels=ids)[name]
            if k == 2:
                # Binary figures treat class 1 as positive; bertlab.data.labeled.label_names
                # orders names so that e.g. "positive", "yes", "1" or "正面" is class 1.
                out[name] = m.compute(**data, average="binary", pos_label=1)[name]
            else:
                out[name] = out[f"{name}_macro"]
        cm = cm_m.compute(**data, labels=ids)["confusion_matrix"]
        if k == 2:
            auc = auc_m.compute(references=refs, prediction_scores=scores[:, 1], return_curve=True)
            curve = auc.get("roc_curve")
            out["roc_auc"] = auc["roc_auc"]
            out["roc_curve"] = _thin_curve(curve["fpr"], curve["tpr"]) if curve else None
        else:
            out["roc_auc"] = auc_m.compute(references=refs, prediction_scores=scores, average="macro")["roc_auc"]
            out["roc_curve"] = None
    support = np.bincount(refs, minlength=k)
    out["confusion_matrix"] = [[int(c) for c in row] for row in cm]
    out["per_class"] = [{"label": names[i], "precision": float(per["precision"][i]),
                         "recall": float(per["recall"][i]), "f1": float(per["f1"][i]),
                         "support": int(support[i])} for i in ids]
    out["labels"] = names
    out["n"] = int(len(refs))
    for key in ("accuracy", "precision", "recall", "f1", "precision_macro", "recall_macro", "f1_macro"):
        out[key] = float(out[key])
    if out["roc_auc"] is not None:
        out["roc_auc"] = float(out["roc_auc"])
    order = ("accuracy", "precision", "recall", "f1", "precision_macro", "recall_macro", "f1_macro", "roc_auc",
             "confusion_matrix", "per_class", "roc_curve", "labels", "n")
    return {key: out[key] for key in order}
