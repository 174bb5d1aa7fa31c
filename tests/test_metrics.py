"""bertlab.training.metrics and the evaluate metric modules in bertlab/training/metric_modules.

Expected values are worked out by hand in the comments; scikit-learn (a test-only dependency here)
cross-checks the same functions on random data.
"""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

from bertlab.training import metrics
from bertlab.training.metric_modules import NAMES, _core, path as module_path

# ----------------------------------------------------------------------------- hand-checked cases

# Binary: 4 positives, 6 negatives. Column 1 of probs is P(positive).
BIN_Y = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
BIN_P1 = [0.9, 0.8, 0.6, 0.3, 0.7, 0.55, 0.2, 0.1, 0.35, 0.05]
# argmax -> predictions [1, 1, 1, 0, 1, 1, 0, 0, 0, 0]
# TP = 3 (rows 0-2), FN = 1 (row 3), FP = 2 (rows 4, 5), TN = 4


def _binary_probs():
    p1 = np.array(BIN_P1)
    return np.stack([1 - p1, p1], axis=1)


def test_binary_hand_computed():
    m = metrics.classification_metrics(BIN_Y, _binary_probs(), ["negative", "positive"])
    assert m["n"] == 10
    assert m["accuracy"] == pytest.approx(7 / 10)  # TP + TN = 3 + 4
    # positive class: precision 3/(3+2), recall 3/(3+1), f1 = 2*3/(2*3+2+1) = 6/9
    assert m["precision"] == pytest.approx(0.6)
    assert m["recall"] == pytest.approx(0.75)
    assert m["f1"] == pytest.approx(6 / 9)
    # negative class: precision TN/(TN+FN) = 4/5, recall TN/(TN+FP) = 4/6, f1 = 8/(8+1+2) = 8/11
    assert m["precision_macro"] == pytest.approx((0.6 + 0.8) / 2)
    assert m["recall_macro"] == pytest.approx((0.75 + 4 / 6) / 2)
    assert m["f1_macro"] == pytest.approx((6 / 9 + 8 / 11) / 2)
    # rows = true class: [[TN, FP], [FN, TP]]
    assert m["confusion_matrix"] == [[4, 2], [1, 3]]
    # AUC by counting positive/negative pairs where the positive scores higher (24 pairs):
    # 0.9 beats all 6, 0.8 all 6, 0.6 beats 5 (not 0.7), 0.3 beats 0.2/0.1/0.05 = 3 -> 20/24
    assert m["roc_auc"] == pytest.approx(20 / 24)
    neg, pos = m["per_class"]
    assert neg == {"label": "negative", "precision": pytest.approx(0.8), "recall": pytest.approx(4 / 6),
                   "f1": pytest.approx(8 / 11), "support": 6}
    assert pos["label"] == "positive" and pos["support"] == 4
    curve = m["roc_curve"]
    assert (curve["fpr"][0], curve["tpr"][0]) == (0.0, 0.0)
    assert (curve["fpr"][-1], curve["tpr"][-1]) == (1.0, 1.0)
    # the trapezoid under the returned points is the AUC (no point was dropped for 10 examples)
    assert np.trapezoid(curve["tpr"], curve["fpr"]) == pytest.approx(20 / 24)


def test_roc_auc_counts_ties_as_half():
    # positives 0.5 and 0.8, negatives 0.5 and 0.2: pairs (0.5,0.5)=1/2, (0.5,0.2)=1, (0.8,*)=2 -> 3.5/4
    assert _core.binary_auc(np.array([1, 0, 1, 0]) == 1, [0.5, 0.5, 0.8, 0.2]) == pytest.approx(0.875)
    # every score equal: a coin toss
    assert _core.binary_auc(np.array([1, 0, 1, 0]) == 1, [0.3] * 4) == pytest.approx(0.5)
    # through classification_metrics and the evaluate module too
    probs = np.array([[0.5, 0.5], [0.5, 0.5], [0.2, 0.8], [0.8, 0.2]])
    assert metrics.classification_metrics([1, 0, 1, 0], probs, ["a", "b"])["roc_auc"] == pytest.approx(0.875)


# Three classes. Predictions (argmax): [0, 1, 1, 1, 2, 0]; true: [0, 0, 1, 1, 2, 2]
MC_Y = [0, 0, 1, 1, 2, 2]
MC_P = [[0.7, 0.2, 0.1],
        [0.3, 0.6, 0.1],
        [0.2, 0.5, 0.3],
        [0.1, 0.6, 0.3],
        [0.2, 0.2, 0.6],
        [0.5, 0.1, 0.4]]


def test_multiclass_hand_computed():
    m = metrics.classification_metrics(MC_Y, np.array(MC_P), ["a", "b", "c"])
    # rows = true: a -> (a, b), b -> (b, b), c -> (a, c)
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert m["accuracy"] == pytest.approx(4 / 6)
    # precision per column: a 1/2, b 2/3, c 1/1; recall per row: a 1/2, b 2/2, c 1/2
    assert m["precision_macro"] == pytest.approx((0.5 + 2 / 3 + 1) / 3)
    assert m["recall_macro"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    # f1 = 2tp/(2tp+fp+fn): a 2/4, b 4/5, c 2/3
    assert m["f1_macro"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    # more than two classes: the headline precision/recall/f1 are the macro ones
    assert (m["precision"], m["recall"], m["f1"]) == (m["precision_macro"], m["recall_macro"], m["f1_macro"])
    # one-vs-rest AUC (positive/negative pairs):
    #   a: positives 0.7, 0.3 vs 0.2 0.1 0.2 0.5 -> 4 + 3 = 7/8
    #   b: positives 0.5, 0.6 vs 0.2 0.6 0.2 0.1 -> 3 + (3 + 1/2 for the tie) = 6.5/8
    #   c: positives 0.6, 0.4 vs 0.1 0.1 0.3 0.3 -> 8/8
    assert m["roc_auc"] == pytest.approx((7 / 8 + 6.5 / 8 + 1) / 3)
    assert m["roc_curve"] is None
    assert [c["support"] for c in m["per_class"]] == [2, 2, 2]
    assert sum(map(sum, m["confusion_matrix"])) == m["n"] == 6


def test_absent_class_gives_no_auc_but_full_matrix():
    # class "c" never occurs in the labels: its AUC (and so the OvR macro) is undefined
    probs = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])
    m = metrics.classification_metrics([0, 1, 1], probs, ["a", "b", "c"])
    assert m["roc_auc"] is None
    assert m["confusion_matrix"] == [[1, 0, 0], [0, 1, 1], [0, 0, 0]]
    assert m["per_class"][2]["support"] == 0
    # a validation set holding one class only: binary AUC undefined too, no curve
    m = metrics.classification_metrics([1, 1], np.array([[0.2, 0.8], [0.6, 0.4]]), ["neg", "pos"])
    assert m["roc_auc"] is None and m["roc_curve"] is None
    assert m["accuracy"] == 0.5


def test_roc_curve_is_thinned_and_keeps_its_shape():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 5000)
    p1 = np.clip(0.3 * y + rng.random(5000) * 0.7, 0, 1)
    m = metrics.classification_metrics(y.tolist(), np.stack([1 - p1, p1], 1), ["0", "1"])
    fpr, tpr = m["roc_curve"]["fpr"], m["roc_curve"]["tpr"]
    assert 20 < len(fpr) <= metrics.ROC_POINTS
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    # 200 points still give the area to within a hundredth
    assert np.trapezoid(tpr, fpr) == pytest.approx(m["roc_auc"], abs=0.01)


def test_bad_shapes_are_programming_errors():
    with pytest.raises(ValueError):
        metrics.classification_metrics([0, 1], np.array([[0.5, 0.5]]), ["a", "b"])
    with pytest.raises(ValueError):
        metrics.classification_metrics([0, 2], np.array([[0.5, 0.5], [0.5, 0.5]]), ["a", "b"])
    with pytest.raises(ValueError):
        metrics.classification_metrics([0, 1], np.array([[0.5, 0.5], [0.5, 0.5]]), ["a", "b", "c"])


# ---------------------------------------------------------------------------- the evaluate modules


def test_modules_load_by_path_offline_and_fast(monkeypatch):
    import evaluate  # imported before the clock starts: it pulls in transformers

    def no_network(*args, **kwargs):
        raise AssertionError("a metric module tried to open a network connection")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    start = time.perf_counter()
    loaded = {name: evaluate.load(module_path(name), keep_in_memory=True) for name in NAMES}
    loaded["roc_auc multiclass"] = evaluate.load(module_path("roc_auc"), "multiclass", keep_in_memory=True)
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0, f"loading the metric modules took {elapsed:.2f} s"
    assert all(isinstance(m, evaluate.EvaluationModule) for m in loaded.values())
    # and they compute while the network is still "down"
    assert loaded["accuracy"].compute(predictions=[0, 1, 1], references=[0, 1, 0]) == {"accuracy": pytest.approx(2 / 3)}


def test_module_options():
    f1 = metrics.load_metric("f1")
    data = {"predictions": [1, 1, 0, 0, 1], "references": [1, 0, 0, 0, 1]}
    # positive 1: tp 2, fp 1, fn 0 -> 4/5; positive 0: tp 2, fp 0, fn 1 -> 4/5
    assert f1.compute(**data)["f1"] == pytest.approx(0.8)
    assert f1.compute(**data, pos_label=0)["f1"] == pytest.approx(0.8)
    # micro over all classes equals accuracy for single-label data: 4/5
    assert f1.compute(**data, average="micro")["f1"] == pytest.approx(0.8)
    # weighted by support (2 of class 1, 3 of class 0): both f1 are 0.8
    assert f1.compute(**data, average="weighted")["f1"] == pytest.approx(0.8)
    assert f1.compute(**data, average=None) == {"f1": [pytest.approx(0.8), pytest.approx(0.8)]}
    with pytest.raises(ValueError, match="binary"):
        f1.compute(predictions=[0, 1, 2], references=[0, 1, 2])
    # a class never predicted: precision is 0 (zero_division), not a warning or NaN
    precision = metrics.load_metric("precision")
    assert precision.compute(predictions=[0, 0], references=[1, 0], average=None, labels=[0, 1]) == \
        {"precision": [0.5, 0.0]}
    cm = metrics.load_metric("confusion_matrix")
    assert cm.compute(predictions=[0, 1], references=[0, 0], labels=[0, 1, 2])["confusion_matrix"] == \
        [[1, 1, 0], [0, 0, 0], [0, 0, 0]]
    auc = metrics.load_metric("roc_auc")
    assert auc.compute(references=[0, 0, 1], prediction_scores=[0.1, 0.6, 0.4])["roc_auc"] == pytest.approx(0.5)
    assert metrics.load_metric("roc_auc") is auc  # loaded once, cached


def test_agrees_with_scikit_learn_on_random_data():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    for k, n in ((2, 50), (2, 7), (3, 40), (5, 200)):
        y = rng.integers(0, k, n)
        y[:k] = np.arange(k)  # every class present, so AUC is defined
        logits = rng.normal(size=(n, k)) + np.eye(k)[y] * rng.random()
        probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        pred = probs.argmax(1)
        m = metrics.classification_metrics(y.tolist(), probs, [f"c{i}" for i in range(k)])
        assert m["accuracy"] == pytest.approx(sk.accuracy_score(y, pred))
        for avg in ("macro", "micro", "weighted"):
            for name, fn in (("precision", sk.precision_score), ("recall", sk.recall_score), ("f1", sk.f1_score)):
                ours = _core.precision_recall_f1(y, pred, labels=list(range(k)), average=avg)[
                    ("precision", "recall", "f1").index(name)]
                assert ours == pytest.approx(fn(y, pred, labels=list(range(k)), average=avg, zero_division=0))
        assert m["confusion_matrix"] == sk.confusion_matrix(y, pred, labels=list(range(k))).tolist()
        if k == 2:
            assert m["f1"] == pytest.approx(sk.f1_score(y, pred, zero_division=0))
            assert m["roc_auc"] == pytest.approx(sk.roc_auc_score(y, probs[:, 1]))
            fpr, tpr, _ = sk.roc_curve(y, probs[:, 1], drop_intermediate=False)
            ours = _core.roc_curve(y == 1, probs[:, 1])
            assert np.allclose(ours["fpr"], fpr) and np.allclose(ours["tpr"], tpr)
        else:
            assert m["roc_auc"] == pytest.approx(sk.roc_auc_score(y, probs, multi_class="ovr", average="macro"))
            assert _core.ovr_auc(y, probs, average="weighted") == pytest.approx(
                sk.roc_auc_score(y, probs, multi_class="ovr", average="weighted"))
