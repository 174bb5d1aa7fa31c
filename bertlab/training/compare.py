"""Runs side by side: their curves on one chart, the config fields that differ, their final figures.

Reads only what every run folder holds (run_config.json, events.jsonl, results.json, status.json);
no torch. The Runs tab draws the result, `python -m bertlab runs compare A B ...` prints it.

The charts give each compared run a fixed slot ("run 1" ... "run 5") rather than a series named
after the run: Gradio 6.31 fixes a chart's colour scale when it first draws it, so series names
must not change between updates; the legend line under the chart says which run each slot holds.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .run_folder import RunFolder
from ..config import flatten
from ..errors import BadInput
from .events import EVAL, TRAIN

MAX_RUNS = 5
SLOTS = [f"run {i + 1}" for i in range(MAX_RUNS)]
X_AXES = {"step": "step", "time": "elapsed minutes"}
# The validation metric drawn for each task (and its name in the legend line).
MAIN_METRIC = {"finetune": ("eval_accuracy", "validation accuracy"),
               "pretrain": ("eval_mlm_accuracy", "validation MLM accuracy")}
# Final figures shown per run, from results.json (then the last events).
FINAL_KEYS = [("eval_accuracy", "accuracy"), ("eval_f1", "F1"), ("eval_loss", "validation loss"),
              ("eval_mlm_accuracy", "MLM accuracy"), ("eval_mlm_loss", "validation MLM loss"),
              ("eval_nsp_accuracy", "NSP accuracy")]
# Run-config fields that differ between any two runs by construction and say nothing of the recipe.
IGNORED_FIELDS = {"out", "num_processes", "distributed_type"}


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(Path(str(v)).name if "/" in str(v) else str(v) for v in value)
    text = "" if value is None else str(value)
    return Path(text).name if "/" in text else text  # a data file by its name, not the server's folders


def compare_runs(run_ids: list[str], x: str = "step") -> dict[str, Any]:
    """Everything the comparison view shows for up to MAX_RUNS runs (ids under the runs folder or
    run folders): per-slot curve points, the differing config fields, the final figures."""
    if x not in X_AXES:
        raise BadInput(f"x must be one of {', '.join(X_AXES)}, not {x!r}")
    ids = [str(r).strip() for r in run_ids or [] if str(r).strip()]
    ids = list(dict.fromkeys(ids))
    if len(ids) < 2:
        raise BadInput("choose two or more runs to compare")
    if len(ids) > MAX_RUNS:
        raise BadInput(f"compare at most {MAX_RUNS} runs at a time ({len(ids)} chosen)")
    folders = [RunFolder.find(r) for r in ids]
    configs = [f.config_dict()[0] for f in folders]
    loss_points, metric_points, finals, slots = [], [], [], []
    for slot, folder, config in zip(SLOTS, folders, configs):
        task = config.get("task") or "?"
        events = folder.events()
        metric_key, metric_name = MAIN_METRIC.get(task, MAIN_METRIC["finetune"])
        loss_key = "mlm_loss" if task == "pretrain" else "loss"
        for event in events:
            at = _x_value(event, x)
            if at is None:
                continue
            value = event.get(loss_key) if event.get("type") == TRAIN else None
            if _finite(value):
                loss_points.append((at, float(value), slot))
            value = event.get(metric_key) if event.get("type") == EVAL else None
            if _finite(value):
                metric_points.append((at, float(value), slot))
        slots.append({"slot": slot, "run": folder.name, "task": task, "metric": metric_name})
        finals.append(_final_row(folder, config, events))
    return {"x": x, "x_title": X_AXES[x], "slots": slots, "loss": loss_points, "metric": metric_points,
            "config_diff": config_differences(folders, configs), "finals": finals}


def config_differences(folders: list[RunFolder], configs: list[dict]) -> list[list[str]]:
    """[field, value in run 1, value in run 2, ...] for every config field whose values differ."""
    flat = [flatten(c) for c in configs]
    fields = sorted({k for f in flat for k in f} - IGNORED_FIELDS)
    rows = []
    for field in fields:
        values = [_shown(f.get(field, "—")) for f in flat]
        if len(set(values)) > 1:
            rows.append([field, *values])
    return rows


def _final_row(folder: RunFolder, config: dict, events: list[dict]) -> dict[str, Any]:
    results = folder.results()
    last_eval = next((e for e in reversed(events) if e.get("type") == EVAL), {})
    last_train = next((e for e in reversed(events) if e.get("type") == TRAIN), {})
    row = {"run": folder.name, "task": config.get("task") or "?", "state": folder.status().get("state"),
           "steps": results.get("step") or last_train.get("step"),
           "minutes": round((results.get("elapsed_s") or last_train.get("elapsed_s") or 0) / 60, 2)}
    for key, name in FINAL_KEYS:
        value = results.get(key, last_eval.get(key))
        row[name] = round(float(value), 4) if _finite(value) else None
    return row


def _x_value(event: dict, x: str) -> float | None:
    value = event.get("step") if x == "step" else event.get("elapsed_s")
    if not _finite(value):
        return None
    return float(value) if x == "step" else float(value) / 60


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
