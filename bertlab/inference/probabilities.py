"""Softmax and top-k in numpy, shared by fill-mask, classification and the fast path's parity check.

Numpy, not torch: the ONNX Runtime path hands back numpy arrays, and a page answering from a
cached export never has to import torch (about 9 s of start-up) for two small reductions.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def softmax(logits) -> np.ndarray:
    """Row-wise softmax in float64 (rows sum to 1 to ~1e-15): (..., C) -> (..., C)."""
    x = np.asarray(logits, dtype=np.float64)
    x = x - x.max(axis=-1, keepdims=True)  # exp of at most 0: no overflow
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def top_k(probs: np.ndarray, k: int, allowed: Sequence[int] | None = None,
          excluded: Sequence[int] = ()) -> tuple[np.ndarray, np.ndarray]:
    """(ids, scores), each (N, k), of the k highest entries of every row of probs (N, V), highest
    first. `allowed`: rank only these ids. `excluded`: never return these ids (special tokens)."""
    if allowed is not None:
        allowed = np.asarray(allowed, dtype=np.int64)
        sub = probs[:, allowed]  # (N, A)
        order = np.argsort(-sub, axis=1, kind="stable")[:, :min(k, allowed.size)]
        return allowed[order], np.take_along_axis(sub, order, axis=1)
    ranked = probs
    if len(excluded):
        ranked = probs.copy()
        ranked[:, np.asarray(excluded, dtype=np.int64)] = -1.0  # below every real probability
    k = max(1, min(k, probs.shape[-1] - len(excluded)))
    # argpartition finds the k best in O(V); only those k are then sorted.
    best = np.argpartition(-ranked, k - 1, axis=1)[:, :k]  # (N, k), unordered
    order = np.argsort(-np.take_along_axis(ranked, best, axis=1), axis=1, kind="stable")
    ids = np.take_along_axis(best, order, axis=1)
    return ids, np.take_along_axis(ranked, ids, axis=1)
