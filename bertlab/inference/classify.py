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
# this many rows left.
LANES_FROM_ROWS = 128
# Rows are tokenized this many at a time (in order of their length in characters), then sorted by
# their length in tokens within the window: a big file is never held tokenized all at once, and the
# next window is tokenized while the lanes work through the batches in flight.
WINDOW_ROWS = 1024
# A batch holds as many rows as fit in this many tokens (rows x longest row), at most MAX_BATCH_ROWS.
# Measured on the English default, 2,000 SST-2 sentences sorted by token length, 2 cores: ONNX
# Runtime on both cores 716 rows/s at 32 rows a batch, 729 at 512 tokens, 689 at 2,048; one lane
# (one core each) best at 256-384 tokens (748-753 rows/s against 701 at 16 rows); PyTorch alike
# from 512 to 1,024 tokens (605-623). On a GPU larger batches pay: GPU_TOKENS_PER_BATCH.
TOKENS_PER_BATCH = 512
TOKENS_PER_LANE_BATCH = 384
GPU_TOKENS_PER_BATCH = 16384
MAX_BATCH_ROWS = 256


def default_batch_tokens(lanes: int, device: str = "cpu") -> int:
    """predict_probs' token budget per batch: see TOKENS_PER_BATCH."""
    if device != "cpu":
        return GPU_TOKENS_PER_BATCH
    return TOKENS_PER_LANE_BATCH if lanes > 1 else TOKENS_PER_BATCH


def length_batches(lengths: list[int], batch_tokens: int = TOKENS_PER_BATCH,
                   batch_rows: int | None = None) -> list[list[int]]:
    """Positions 0..n-1 grouped into batches, shortest rows first: each batch `batch_rows` rows, or
    (without it) as many as fit in `batch_tokens` padded tokens (rows x longest, at most
    MAX_BATCH_ROWS; a single row longer than the budget is a batch of its own)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    if batch_rows:
        return [order[i:i + batch_rows] for i in range(0, len(order), batch_rows)]
    batches, current = [], []
    for i in order:  # ascending: the row joining a batch is its longest
        if current and ((len(current) + 1) * lengths[i] > batch_tokens or len(current) == MAX_BATCH_ROWS):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def _pad(encoded, rows: list[int], pad_id: int) -> dict:
    """Numpy (B, T) input_ids / attention_mask / token_type_ids of encoded rows `rows`, padded on
    the right to the longest. Always the right: BERT-style classifiers (and the `[CLS]`-only last
    layer) read position 0, and absolute positions must not shift with a row's padding; a
    last-token classifier finds its row's last real token from the pad id either way."""
    import numpy as np

    ids_of = encoded["input_ids"]
    types_of = encoded.get("token_type_ids")
    width = max(len(ids_of[i]) for i in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    types = np.zeros((len(rows), width), dtype=np.int64)
    for r, i in enumerate(rows):
        n = len(ids_of[i])
        ids[r, :n] = ids_of[i]
        mask[r, :n] = 1
        if types_of is not None:
            types[r, :n] = types_of[i]
    out = {"input_ids": ids, "attention_mask": mask}
    if types_of is not None:
        out["token_type_ids"] = types
    return out


def predict_probs(texts: list[str], pairs: list[str] | None, loaded, batch_size: int | None = None,
                  max_length: int | None = None, runner="auto"):
    """Class probabilities, shape (n, num_labels), in input order. Rows are batched by their length
    in tokens (the padding a batch computes is ~2% of its tokens on SST-2; batches formed by length
    in characters computed 28% more tokens than real, 1.2x slower) and each batch holds about
    TOKENS_PER_BATCH tokens (batch_size: that many rows instead). runner: "auto" (ONNX Runtime once
    the model's fast path is ready, PyTorch until then), None (PyTorch), or a
    fast_inference.OrtRunner to use. A runner with lanes runs that many batches side by side
    (fast_inference.OrtRunner) while this thread tokenizes the next ones, when at least
    LANES_FROM_ROWS rows are left; fewer (one text) run on all cores."""
    import numpy as np

    tokenizer, model = loaded.tokenizer, loaded.model
    limit = max_length or min(getattr(tokenizer, "model_max_length", 512) or 512,
                              getattr(model.config, "max_position_embeddings", 512))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    device = str(getattr(getattr(model, "device", None), "type", "cpu") or "cpu")
    by_chars = sorted(range(len(texts)), key=lambda i: len(texts[i]) + (len(pairs[i]) if pairs else 0))
    out = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
    pool, in_flight, lane_runner = None, deque(), None  # in flight: (row indices, future of logits), oldest first
    try:
        for window_start in range(0, len(by_chars), WINDOW_ROWS):
            window = by_chars[window_start:window_start + WINDOW_ROWS]
            encoded = tokenizer([texts[i] for i in window], [pairs[i] for i in window] if pairs else None,
                                truncation=True, max_length=limit)
            lengths = [len(ids) for ids in encoded["input_ids"]]
            # Asked per window: a long file moves to ONNX Runtime as soon as its export is ready.
            ort = fast_inference.prepare(loaded, "classification") if runner == "auto" else runner
            lanes = getattr(ort, "lanes", 1) if ort else 1
            rows_left = len(by_chars) - window_start
            if pool is None and lanes > 1 and rows_left >= LANES_FROM_ROWS:
                # Enough rows left to be worth a second session: lanes from here to the end.
                pool = ThreadPoolExecutor(lanes, thread_name_prefix="bertlab-classify")
                lane_runner = ort
                lane_runner.hold_lanes()
            in_lanes = pool is not None and ort is lane_runner
            budget = default_batch_tokens(lanes if in_lanes else 1, "cpu" if ort else device)
            for batch in length_batches(lengths, budget, batch_size):
                idx = [window[j] for j in batch]
                enc = _pad(encoded, batch, pad_id)
                if in_lanes:
                    in_flight.append((idx, pool.submit(ort.classify, enc, lane=True)))
                    while len(in_flight) > 2 * lanes:  # bounded: memory, and results land as they come
                        done_idx, future = in_flight.popleft()
                        out[done_idx] = softmax(future.result())
                    continue
                if ort:
                    logits = ort.classify(enc)
                else:  # PyTorch, imported only here: an answer from a checked export never loads it
                    import torch

                    from ..modeling import first_token

                    model.eval()
                    # BERTLAB_DEVICE / a GPU: the batch goes where the weights are
                    tensors = {k: torch.from_numpy(v).to(model.device) for k, v in enc.items()}
                    with torch.inference_mode():  # the last layer for the [CLS] row only where it fits
                        logits = first_token.classifier_logits(model, tensors["input_ids"], tensors["attention_mask"],
                                                               tensors.get("token_type_ids")).float().cpu().numpy()
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
