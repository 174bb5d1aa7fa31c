"""The arithmetic behind bertlab's evaluate metric modules, in numpy only.

Each metric module (accuracy/, precision/, recall/, f1/, roc_auc/, confusion_matrix/) is a thin
`evaluate.Metric` that checks its inputs through evaluate's features and then calls one function
here, so the counting is written once and can be read (and tested) without evaluate.

Conventions follow scikit-learn's, so results can be cross-checked against it:
- classes are integer ids; `labels` fixes which ids (and in what order) count, otherwise the
  sorted union of ids seen in references and predictions;
- precision = tp / (tp + fp), recall = tp / (tp + fn), f1 = 2 tp / (2 tp + fp + fn); a ratio
  whose denominator is 0 is `zero_division` (0.0 by default) instead of a warning;
- ROC AUC uses average ranks, so tied scores count half (the trapezoid under the ROC curve).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

AVERAGES = ("binary", "micro", "macro", "weighted", None)


def as_ids(values, name: str) -> np.ndarray:
    """1-D int64 array of class ids; a float id such as 1.0 is accepted, 0.5 is not."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a flat list of class ids, got shape {arr.shape}")
    if arr.size and arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must be integer class ids")
    if arr.size and arr.dtype.kind not in "iufb":
        raise ValueError(f"{name} must be integer class ids, got {arr.dtype}")
    return arr.astype(np.int64)


def resolve_labels(references: np.ndarray, predictions: np.ndarray, labels) -> np.ndarray:
    if labels is None:
        return np.union1d(references, predictions).astype(np.int64)
    return as_ids(labels, "labels")


def confusion_matrix(references, predictions, labels=None) -> np.ndarray:
    """Counts C[i, j] = examples whose true class is labels[i] and predicted class labels[j].

    Examples whose true or predicted id is not in `labels` are left out, as scikit-learn does.
    """
    refs, preds = as_ids(references, "references"), as_ids(predictions, "predictions")
    if refs.shape != preds.shape:
        raise ValueError(f"{len(refs)} references but {len(preds)} predictions")
    labels = resolve_labels(refs, preds, labels)
    k = len(labels)
    if k == 0:
        return np.zeros((0, 0), np.int64)
    # Map ids to rows/columns by a sorted lookup; ids outside `labels` get position -1.
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]

    def position(ids: np.ndarray) -> np.ndarray:
        at = np.clip(np.searchsorted(sorted_labels, ids), 0, k - 1)
        return np.where(sorted_labels[at] == ids, order[at], -1)

    r, p = position(refs), position(preds)
    keep = (r >= 0) & (p >= 0)
    # bincount over the flattened (row, column) index is one pass, no Python loop.
    flat = np.bincount(r[keep] * k + p[keep], minlength=k * k)
    return flat.reshape(k, k).astype(np.int64)


def _count(ids: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """How often each of `labels` occurs in `ids` (float array in `labels` order)."""
    values, counts = np.unique(ids, return_counts=True)
    lookup = dict(zip(values.tolist(), counts.tolist()))
    return np.array([lookup.get(int(c), 0) for c in labels], float)


def _ratio(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    num, den = np.asarray(num, float), np.asarray(den, float)
    out = np.full(num.shape, float(zero_division))
    np.divide(num, den, out=out, where=den > 0)
    return out


def precision_recall_f1(references, predictions, *, labels=None, pos_label=1, average="binary",
                        zero_division: float = 0.0):
    """(precision, recall, f1, support) with the given averaging.

    average=None gives per-class arrays in `labels` order; "binary" reports only `pos_label`
    and refuses data with more than two classes (as scikit-learn does), so a multi-class
    problem is never silently scored as binary.
    """
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
    refs, preds = as_ids(references, "references"), as_ids(predictions, "predictions")
    if average == "binary":
        present = np.union1d(refs, preds)
        if len(present) > 2:
            raise ValueError(f"average='binary' needs at most two classes, found {present.tolist()}; "
                             "use average='macro', 'micro' or 'weighted'")
        labels = [pos_label]
    if refs.shape != preds.shape:
        raise ValueError(f"{len(refs)} references but {len(preds)} predictions")
    labels = resolve_labels(refs, preds, labels)
    if len(labels) == 0:  # no examples at all: nothing to average
        z = float(zero_division)
        return (np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, np.int64)) if average is None else (z, z, z, 0)
    # Per-class counts over *all* examples (not only those inside `labels`): a wrong prediction of
    # class c is a false positive for c whatever the true class is.
    hits = refs[refs == preds]
    tp = _count(hits, labels)
    predicted = _count(preds, labels)  # how often each class was predicted (tp + fp)
    support = _count(refs, labels)  # how often each class is true (tp + fn)
    if average == "micro":
        tp, predicted, support_sum = tp.sum(), predicted.sum(), support.sum()
        p = float(_ratio(tp, predicted, zero_division))
        r = float(_ratio(tp, support_sum, zero_division))
        f = float(_ratio(2 * tp, predicted + support_sum, zero_division))
        return p, r, f, int(support_sum)
    p = _ratio(tp, predicted, zero_division)
    r = _ratio(tp, support, zero_division)
    # 2tp / (2tp + fp + fn) equals 2pr/(p+r) whenever both are defined, and is 0/0 only when the
    # class never occurs and is never predicted.
    f = _ratio(2 * tp, predicted + support, zero_division)
    if average is None:
        return p, r, f, support.astype(np.int64)
    if average == "binary":
        return float(p[0]), float(r[0]), float(f[0]), int(support[0])
    if average == "macro":
        return float(p.mean()), float(r.mean()), float(f.mean()), int(support.sum())
    # weighted by how many true examples each class has
    total = support.sum()
    if total == 0:
        z = float(zero_division)
        return z, z, z, 0
    w = support / total
    return float((p * w).sum()), float((r * w).sum()), float((f * w).sum()), int(total)


def accuracy(references, predictions, normalize: bool = True, sample_weight=None) -> float:
    refs, preds = as_ids(references, "references"), as_ids(predictions, "predictions")
    if refs.shape != preds.shape:
        raise ValueError(f"{len(refs)} references but {len(preds)} predictions")
    hits = (refs == preds).astype(float)
    if sample_weight is not None:
        w = np.asarray(sample_weight, float)
        return float((hits * w).sum() / w.sum()) if normalize else float((hits * w).sum())
    if not normalize:
        return float(hits.sum())
    return float(hits.mean()) if hits.size else 0.0


def _average_ranks(scores: np.ndarray) -> np.ndarray:
    """1-based ranks with ties sharing the mean of the ranks they span."""
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    # Start of each run of equal scores, and the mean rank inside that run.
    starts = np.r_[True, sorted_scores[1:] != sorted_scores[:-1]]
    run_id = np.cumsum(starts) - 1
    run_first = np.flatnonzero(starts)
    run_last = np.r_[run_first[1:], len(scores)] - 1
    mean_rank = (run_first + run_last) / 2.0 + 1.0
    ranks = np.empty(len(scores))
    ranks[order] = mean_rank[run_id]
    return ranks


def binary_auc(is_positive: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve; None when only one class is present (the area is undefined).

    Mann-Whitney: AUC = (sum of positive ranks - P(P+1)/2) / (P * N), the probability that a
    random positive scores above a random negative, ties counting 1/2.
    """
    is_positive = np.asarray(is_positive, bool)
    scores = np.asarray(scores, float)
    n_pos = int(is_positive.sum())
    n_neg = int(len(is_positive) - n_pos)
    if n_pos == 0 or n_neg == 0 or not np.all(np.isfinite(scores)):
        return None
    ranks = _average_ranks(scores)
    return float((ranks[is_positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_curve(is_positive, scores) -> dict | None:
    """Points of the ROC curve: one per distinct score (highest first), from (0, 0) to (1, 1).

    Thresholds are the scores themselves: at threshold t an example is called positive when
    score >= t. None when the curve is undefined (one class only).
    """
    is_positive = np.asarray(is_positive, bool)
    scores = np.asarray(scores, float)
    n_pos = int(is_positive.sum())
    n_neg = int(len(is_positive) - n_pos)
    if n_pos == 0 or n_neg == 0 or not np.all(np.isfinite(scores)):
        return None
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], is_positive[order]
    # The last index of every run of equal scores is where the curve gets a point.
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]
    tps = np.cumsum(y)[last]
    fps = (last + 1) - tps
    fpr = np.r_[0.0, fps / n_neg]
    tpr = np.r_[0.0, tps / n_pos]
    thresholds = np.r_[np.inf, s[last]]
    return {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": thresholds.tolist()}


def ovr_auc(references, scores: np.ndarray, *, labels: Sequence[int] | None = None,
            average: str | None = "macro") -> float | list | None:
    """One-vs-rest ROC AUC over the columns of `scores` (n, k); column j scores class labels[j].

    average "macro" = mean of the per-class AUCs, "weighted" = weighted by class support,
    None = the list of per-class AUCs (None entries where undefined). The average is None when
    any class's AUC is undefined, i.e. a class is absent from the references (or is all of them).
    """
    refs = as_ids(references, "references")
    scores = np.asarray(scores, float)
    if scores.ndim != 2 or scores.shape[0] != len(refs):
        raise ValueError(f"scores must have shape (n, k) with n = {len(refs)}, got {scores.shape}")
    labels = np.arange(scores.shape[1]) if labels is None else as_ids(labels, "labels")
    if len(labels) != scores.shape[1]:
        raise ValueError(f"{len(labels)} labels but scores have {scores.shape[1]} columns")
    per_class = [binary_auc(refs == c, scores[:, j]) for j, c in enumerate(labels)]
    if average is None:
        return per_class
    if any(a is None for a in per_class):
        return None
    aucs = np.asarray(per_class)
    if average == "macro":
        return float(aucs.mean())
    if average == "weighted":
        support = np.array([(refs == c).sum() for c in labels], float)
        return float((aucs * support).sum() / support.sum())
    raise ValueError(f"average must be 'macro', 'weighted' or None, got {average!r}")
