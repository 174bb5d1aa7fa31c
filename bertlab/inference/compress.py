"""Model compression for a finished fine-tuning run: ONNX and int8 forms, measured side by side.

`export_run(RUN)` writes RUN/export/:

    model.onnx        the classifier as ONNX (input_ids, attention_mask, token_type_ids -> logits)
    model.int8.onnx   the same with dynamic int8 quantization (int8 weights, activations on the fly)
    tokenizer.json, tokenizer_config.json, vocab.txt, ..., config.json (labels: id2label)
    export.json       for each form (pytorch, onnx, int8): size on disk, p50 latency of one
                      sentence, validation accuracy and F1, and agreement with PyTorch's labels

The exported files need only onnxruntime and tokenizers (numpy) to run; see `export.json`'s
"usage" for the five lines. Validation figures use the run's own validation data (its file, or the
same stratified split of the training file that the run used), when those files are still there.
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from ..errors import BadInput
from ..files import atomic_write_json

EXPORT_DIR = "export"
REPORT = "export.json"
FORMS = (("pytorch", "PyTorch (final/)"), ("onnx", "ONNX"), ("int8", "ONNX int8 (dynamic quantization)"))
LATENCY_SENTENCES = 40
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "config.json")
USAGE = ("import numpy as np, onnxruntime as ort; from tokenizers import Tokenizer\n"
         "tok = Tokenizer.from_file('tokenizer.json'); sess = ort.InferenceSession('model.int8.onnx')\n"
         "e = tok.encode('a warm and funny film')\n"
         "feed = {k: np.array([v], dtype=np.int64) for k, v in (('input_ids', e.ids), "
         "('attention_mask', e.attention_mask), ('token_type_ids', e.type_ids))}\n"
         "logits = sess.run(None, feed)[0]  # (1, num_labels); labels: config.json id2label")


def _finetune_run(run) -> tuple[Path, dict[str, Any]]:
    from ..publish import _finished_run

    folder, config = _finished_run(run)
    if config.get("task") != "finetune":
        raise BadInput(f"run {folder.name} is a {config.get('task')} run; only fine-tuned classifiers are "
                       "exported to ONNX and int8 (the page's fill-mask uses its own fast path)")
    return folder, config


def report(run) -> dict[str, Any] | None:
    """The run's export.json, or None when it was never exported."""
    from ..files import read_json
    from ..training.runs import run_dir

    found = read_json(run_dir(run) / EXPORT_DIR / REPORT)
    return found if isinstance(found, dict) else None


def _validation(folder: Path):
    """(texts, pairs, label ids' names) of the run's validation data, or (None, why not)."""
    from ..config import TrainConfig
    from ..training.tasks.classification import load_finetune_data

    try:
        _, validation = load_finetune_data(TrainConfig.load(folder / "run_config.json"))
    except Exception as exc:  # data files moved or deleted since the run: sizes and latency still come
        return None, f"no validation figures: the run's data cannot be read now ({exc})"
    return validation, ""


def _p50_ms(fn, items) -> float:
    times = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def export_run(run, int8: bool = True, max_validation: int = 0) -> dict[str, Any]:
    """Export RUN's final model to RUN/export/ and measure every form; returns (and writes) the report."""
    import numpy as np

    from .fast_inference import OrtRunner
    from .classify import label_names, predict_probs
    from ..training.metrics import classification_metrics
    from ..modeling.registry import load_model, quiet_loading
    from .onnx_export import export, quantize_int8

    folder, _ = _finetune_run(run)
    final, out = folder / "final", folder / EXPORT_DIR
    quiet_loading()
    loaded = load_model(str(final), head="classification", task="classify")
    out.mkdir(exist_ok=True)
    started = time.perf_counter()
    files = {"pytorch": None, "onnx": export(loaded.model, "classification", out / "model.onnx")}
    if int8:
        files["int8"] = quantize_int8(out / "model.onnx", out / "model.int8.onnx")
    for name in TOKENIZER_FILES:
        if (final / name).exists():
            shutil.copy2(final / name, out / name)
    export_s = time.perf_counter() - started

    runners = {"pytorch": None}
    runners.update({form: OrtRunner(path) for form, path in files.items() if path is not None})
    validation, note = _validation(folder)
    names = label_names(loaded.model)
    texts = validation.texts if validation is not None else ["a short sentence to time"] * LATENCY_SENTENCES
    pairs = validation.pairs if validation is not None else None
    if max_validation and validation is not None:
        texts, pairs = texts[:max_validation], (pairs[:max_validation] if pairs else None)
    labels = None
    if validation is not None:
        index = {n: i for i, n in enumerate(names)}
        labels = [index.get(label, -1) for label in validation.labels[:len(texts)]]
        if min(labels) < 0:
            labels, note = None, "no validation figures: the validation labels are not this model's labels"

    forms, reference = [], None
    for form, title in FORMS:
        if form not in runners:
            continue
        runner = runners[form]
        probs = predict_probs(texts, pairs, loaded, runner=runner)
        predicted = probs.argmax(-1)
        reference = predicted if reference is None else reference
        p50 = _p50_ms(lambda i: predict_probs([texts[i]], [pairs[i]] if pairs else None, loaded, runner=runner),
                      range(min(len(texts), LATENCY_SENTENCES)))
        path = files[form] or final / "model.safetensors"
        row = {"form": form, "title": title, "file": str(Path(path).relative_to(folder)),
               "size_mb": round(Path(path).stat().st_size / 2 ** 20, 2) if Path(path).exists() else None,
               "p50_ms": round(p50, 2), "agreement_with_pytorch": round(float(np.mean(predicted == reference)), 4)}
        if labels is not None:
            metrics = classification_metrics(labels, probs, names)
            row.update(accuracy=round(metrics["accuracy"], 4), f1=round(metrics["f1"], 4))
        forms.append(row)
    result = {"run": folder.name, "folder": str(out), "forms": forms, "labels": names,
              "validation_rows": len(texts) if labels is not None else 0, "note": note,
              "latency": f"one sentence at a time, p50 over {min(len(texts), LATENCY_SENTENCES)} sentences, "
                         "tokenization included",
              "export_s": round(export_s, 1), "usage": USAGE,
              "written": time.strftime("%Y-%m-%d %H:%M:%S")}
    atomic_write_json(out / REPORT, result)  # the panel may read it while a new export is written
    return result
