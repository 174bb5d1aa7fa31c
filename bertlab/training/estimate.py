"""Pre-flight estimate of a run's time and memory on this machine, before starting it.

Time: training costs about 6 FLOPs per parameter per token (2 forward, 4 backward; Kaplan et al.
2020), plus attention's 12·layers·hidden·seq per token. We measure this machine's fp32 matmul
rate once (a fraction of a second) and assume a realized fraction of it: the brief measured ~23%
for small-batch BERT fine-tuning on a 2-core CPU; GPUs reach more, we keep the same guess.
Memory: fp32 weights + gradients + two AdamW moments (16 bytes per parameter) plus activations.
"""

from __future__ import annotations

import functools
import time
from typing import Any

REALIZED_FRACTION = 0.23


@functools.lru_cache(maxsize=1)
def matmul_flops_per_s() -> float:
    import torch

    n = 512
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < 0.3:
        a @ b
        reps += 1
    return 2 * n ** 3 * reps / (time.perf_counter() - start)


def _model_shape(config) -> dict[str, int]:
    from ..modeling.registry import describe
    from ..config import PRESETS

    p = config.pretrain
    if config.task == "pretrain" and p.preset:
        preset = PRESETS[p.preset]
        h, layers, vocab = preset["hidden"], preset["layers"], p.vocab_size
        params = layers * 12 * h * h + vocab * h
        return {"hidden": h, "layers": layers, "vocab": vocab, "parameters": params}
    info = describe(config.model or "default", "finetune" if config.task == "finetune" else "pretrain")
    return {"hidden": info.hidden_size, "layers": info.num_layers, "vocab": info.vocab_size,
            "parameters": info.parameters}


def _data_shape(config) -> tuple[int, float]:
    """(number of training examples, mean tokens per example), cheaply."""
    if config.task == "finetune":
        from ..data.labeled import load_labeled

        data = load_labeled(config.finetune.train, config.finetune.text_column,
                            config.finetune.text_pair_column, config.finetune.label_column)
        n = len(data.texts)
        if not config.finetune.validation:
            n = int(n * (1 - config.finetune.validation_fraction))
        if config.finetune.max_train_samples:
            n = min(n, config.finetune.max_train_samples)
        chars = sum(len(t) for t in data.texts) / max(len(data.texts), 1)
        if data.pairs:
            chars += sum(len(t) for t in data.pairs) / max(len(data.pairs), 1)
        cjk = sum(1 for t in data.texts[:200] for c in t if "\u4e00" <= c <= "\u9fff")
        total = sum(len(t) for t in data.texts[:200]) or 1
        per_token = 1.0 if cjk / total > 0.3 else 4.5  # characters per token
        return n, min(config.finetune.max_length, chars / per_token + 3)
    from ..data.corpus import corpus_stats, read_corpus

    stats = corpus_stats(read_corpus(config.pretrain.corpus))
    tokens = stats["characters"] / 4.0
    length = config.pretrain.max_seq_length
    return max(1, int(tokens / length)), float(length)


def estimate_run(config) -> dict[str, Any]:
    import math

    shape = _model_shape(config)
    n_examples, tokens_per_example = _data_shape(config)
    steps_per_epoch = max(1, math.ceil(n_examples / config.batch_size))
    steps = config.max_steps or max(1, math.ceil(steps_per_epoch * config.epochs))
    tokens = steps * config.batch_size * tokens_per_example
    h, layers = shape["hidden"], shape["layers"]
    body = max(shape["parameters"] - shape["vocab"] * h, layers * 12 * h * h)
    flops_per_token = 6 * body + 6 * 2 * layers * h * tokens_per_example
    if config.task == "pretrain":
        # Sparse MLM: the vocabulary projection runs on ~15% of tokens.
        flops_per_token += 6 * h * shape["vocab"] * config.pretrain.mlm_probability
    rate = matmul_flops_per_s() * REALIZED_FRACTION
    seconds = tokens * flops_per_token / rate
    if config.max_minutes:
        seconds = min(seconds, config.max_minutes * 60)
    seq = tokens_per_example
    activations = config.batch_size * seq * layers * (34 * h + 5 * 12 * seq) * 4 / 1e0
    memory = shape["parameters"] * 16 + activations
    return {"examples": n_examples, "steps": steps, "tokens_per_example": round(tokens_per_example, 1),
            "parameters": shape["parameters"], "estimated_seconds": round(seconds, 3),
            "estimated_memory_mb": round(memory / 2 ** 20, 1),
            "machine_matmul_gflops": round(matmul_flops_per_s() / 1e9, 1),
            "note": f"~{REALIZED_FRACTION:.0%} of this machine's measured fp32 matmul rate assumed"}
