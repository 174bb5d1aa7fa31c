"""Sentence (pair) classification with a fine-tuned model, one text or a whole file."""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import fast_inference
from .probabilities import softmax
from ..errors import BadInput


def label_names(model) -> list[str]:
    id2label = getattr(model.config, "id2label", None) or {}
    return [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(model.config.num_labels)]


# Lanes open a second ONNX Runtime session (~0.3 s for the default): used when a file has at least
# this many batches left.
LANES_FROM_BATCHES = 8


def default_batch_rows(lanes: int) -> int:
    """predict_probs' rows per batch: 16 on a runner with lanes, else 32."""
    return 16 if lanes > 1 else 32


def predict_probs(texts: list[str], pairs: list[str] | None, loaded, batch_size: int | None = None,
                  max_length: int | None = None, runner="auto"):
    """Class probabilities, shape (n, num_labels). Batches are formed by length (less padding) and
    the results put back in input order. runner: "auto" (ONNX Runtime once the model's fast path
    is ready, PyTorch until then), None (PyTorch), or a fast_inference.OrtRunner to use. A runner
    with lanes runs that many batches side by side (fast_inference.OrtRunner) while this thread
    tokenizes the next ones, when at least LANES_FROM_BATCHES batches are left; fewer (one text)
    run on all cores. batch_size: rows per batch; by default 32 on PyTorch and 16 on a runner with
    lanes (on 2 cores: 16 rows x 2 lanes measured ~20% more rows/s than 32 rows on both cores,
    ONNX Runtime either way)."""
    import numpy as np

    tokenizer, model = loaded.tokenizer, loaded.model
    limit = max_length or min(getattr(tokenizer, "model_max_length", 512) or 512,
                              getattr(model.config, "max_position_embeddings", 512))
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]) + (len(pairs[i]) if pairs else 0))
    out = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
    pool, in_flight, lane_runner = None, deque(), None  # in flight: (row indices, future of logits), oldest first
    try:
        start = 0
        while start < len(order):
            # Asked per batch: a long file moves to ONNX Runtime as soon as its export is ready.
            ort = fast_inference.prepare(loaded, "classification") if runner == "auto" else runner
            lanes = getattr(ort, "lanes", 1) if ort else 1
            size = batch_size or default_batch_rows(lanes)
            idx = order[start:start + size]
            start += size
            enc = tokenizer([texts[i] for i in idx], [pairs[i] for i in idx] if pairs else None,
                            truncation=True, max_length=limit, padding=True,
                            return_tensors="np" if ort else "pt")
            if pool is None and lanes > 1 and len(order) - start >= (LANES_FROM_BATCHES - 1) * size:
                # Enough batches left to be worth a second session: lanes from here to the end.
                pool = ThreadPoolExecutor(lanes, thread_name_prefix="bertlab-classify")
                lane_runner = ort
                lane_runner.hold_lanes()
            if pool is not None and ort is lane_runner:
                in_flight.append((idx, pool.submit(ort.classify, enc, lane=True)))
                while len(in_flight) > 2 * lanes:  # bounded: a long file is not tokenized all at once
                    done_idx, future = in_flight.popleft()
                    out[done_idx] = softmax(future.result())
                continue
            if ort:
                logits = ort.classify(enc)
            else:  # PyTorch, imported only here: an answer from a checked export never loads it
                import torch

                from ..modeling import first_token

                model.eval()
                enc = enc.to(model.device)  # BERTLAB_DEVICE / a GPU: the batch goes where the weights are
                with torch.inference_mode():  # the last layer for the [CLS] row only where it fits
                    logits = first_token.classifier_logits(model, enc["input_ids"], enc.get("attention_mask"),
                                                           enc.get("token_type_ids")).float().cpu().numpy()
            out[idx] = softmax(logits)
        while in_flight:
            done_idx, future = in_flight.popleft()
            out[done_idx] = softmax(future.result())
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
            lane_runner.release_lanes()
    return out


def classify(text: str, loaded, pair: str | None = None) -> dict[str, Any]:
    if text is None or not str(text).strip():
        raise BadInput("the text is empty: type a sentence to classify")
    pair = pair if pair and str(pair).strip() else None
    probs = predict_probs([text], [pair] if pair else None, loaded)[0]
    names = label_names(loaded.model)
    ranked = sorted(zip(names, probs.tolist()), key=lambda kv: -kv[1])
    return {"label": ranked[0][0], "score": ranked[0][1],
            "scores": [{"label": n, "score": p} for n, p in ranked], "model": loaded.source.name}


def classify_file(path: str, loaded, text_column: str = "", text_pair_column: str = "-",
                  output: str | None = None) -> dict[str, Any]:
    """Predict every row of a file (see classify_table)."""
    from ..data.labeled import read_to_classify

    return classify_table(read_to_classify(path, text_column, text_pair_column), loaded, output)


def classify_table(found, loaded, output: str | None = None) -> dict[str, Any]:
    """Predict every row of a file read by labeled_data.read_to_classify. Each result row keeps all
    of the row's own columns (an id, a gold label, anything), so predictions can be joined back,
    followed by the prediction: `label`, `score` and one `p_<label>` per class (prefixed
    `predicted_` where the file already has a column of that name). With `output`, a predictions
    CSV is written (formula-like cells neutralised so a spreadsheet shows them as text)."""
    from ..data.labeled import write_predictions_csv

    probs = predict_probs(found.texts, found.pairs, loaded)
    names = label_names(loaded.model)
    taken = set(found.columns)

    def column(name: str) -> str:
        return f"predicted_{name}" if name in taken else name

    label_key, score_key = column("label"), column("score")
    prob_keys = [column(f"p_{n}") for n in names]
    rows = []
    for i, cells in enumerate(found.rows):
        best = int(probs[i].argmax())
        row = dict(zip(found.columns, cells))
        row[label_key] = names[best]
        row[score_key] = round(float(probs[i][best]), 6)
        row.update({key: round(float(p), 6) for key, p in zip(prob_keys, probs[i])})
        rows.append(row)
    if output:
        write_predictions_csv(output, rows)
    return {"rows": rows, "labels": names, "n": len(rows), "output": output, "texts": found.texts,
            "model": loaded.source.name,
            "text_column": found.text_column, "label_key": label_key, "score_key": score_key}


def evaluate_file(path: str, loaded, text_column: str = "", text_pair_column: str = "",
                  label_column: str = "") -> dict[str, Any]:
    """Metrics of a fine-tuned model on a labeled file (labels named as in the model's config)."""
    from ..data.labeled import load_labeled
    from ..training.metrics import classification_metrics

    data = load_labeled(path, text_column, text_pair_column, label_column)
    names = label_names(loaded.model)
    index = {n: i for i, n in enumerate(names)}
    unknown = sorted(set(data.labels) - set(index))
    if unknown:
        from ..errors import DataError

        first = data.labels.index(unknown[0])
        raise DataError(f"label(s) {', '.join(map(repr, unknown[:5]))} are not labels of this model "
                        f"({', '.join(names)})", path=path, row=data.row_numbers[first], column=data.label_column)
    probs = predict_probs(data.texts, data.pairs, loaded)
    metrics = classification_metrics([index[l] for l in data.labels], probs, names)
    return metrics
