"""Softmax and top-k in numpy, shared by fill-mask, classification and the fast path's parity check.

Numpy, not torch: the ONNX Runtime path hands back numpy arrays, and a page answering from a
cached export never has to import torch (about 9 s of start-up) for two small reductions.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def softmax(logits, dtype=np.float64) -> np.ndarray:
    """Row-wise softmax: (..., C) -> (..., C). In float64 by default (rows sum to 1 to ~1e-15);
    `dtype=np.float32` for wide rows (a vocabulary): the exponentials in float32, as PyTorch
    computes them, summed in float64 -- ~36 us for 30,522 entries here against ~330 us in float64,
    a twentieth of a fill-mask answer."""
    x = np.asarray(logits, dtype=dtype)
    x = x - x.max(axis=-1, keepdims=True)  # exp of at most 0: no overflow
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True, dtype=np.float64).astype(dtype)


def top_k(probs: np.ndarray, k: int, allowed: Sequence[int] | None = None,
          excluded: Sequence[int] = ()) -> tuple[np.ndarray, np.ndarray]:
    """(ids, scores), each (N, k), of the k highest entries of every row of probs (N, V), highest
    first. `allowed`: rank only these ids. `excluded`: never return these ids (special tokens)."""
    if allowed is not None:
        allowed = np.asarray(allowed, dtype=np.int64)
        sub = probs[:, allowed]  # (N, A)
        order = np.argsort(-sub, axis=1, kind="stable")[:, :min(k, allowed.size)]
        return allowed[order], np.take_along_axis(sub, order, axis=1)
    k = max(1, min(k, probs.shape[-1] - len(excluded)))
    # k passes of argmax (each ~2 us over 30,522 float32 entries here), each taking the best row
    # entry left: numpy's argpartition took ~460 us for the same k = 5 over that row, 10% of
    # a fill-mask answer. Ties go to the lower id.
    ranked = probs.copy()
    if len(excluded):
        ranked[:, np.asarray(excluded, dtype=np.int64)] = -1.0  # below every real probability
    rows = np.arange(probs.shape[0])
    ids = np.empty((probs.shape[0], k), dtype=np.int64)
    for j in range(k):
        ids[:, j] = ranked.argmax(axis=1)
        ranked[rows, ids[:, j]] = -2.0  # taken
    return ids, np.take_along_axis(probs, ids, axis=1)
