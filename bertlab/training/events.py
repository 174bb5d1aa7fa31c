"""Names shared by the writers and the readers of a run's records.

The engine and the tasks write events and results; the run summary and the page read them. A key
spelled differently on the two sides silently hides a figure (the Runs table once looked up
`mlm_accuracy` in summaries that hold `eval_mlm_accuracy`), so the summary's metrics are named here.
"""

from __future__ import annotations

# results.json keys copied into a run's summary, with the short label the Runs table shows.
SUMMARY_METRICS: tuple[tuple[str, str], ...] = (
    ("eval_accuracy", "accuracy"),
    ("eval_f1", "F1"),
    ("eval_mlm_accuracy", "MLM acc"),
    ("eval_nsp_accuracy", "NSP acc"),
)

# Event kinds in events.jsonl (each line is one JSON object with "type" set to one of these).
TRAIN, EVAL, INFO, RESUME, END = "train", "eval", "info", "resume", "end"

# The page's charts: legend label -> (event kind, key). The engine writes "loss" on train events and
# the task's metrics, prefixed "eval_", on eval events; pre-training adds its MLM/NSP statistics.
LOSS_SERIES = {"train loss": (TRAIN, "loss"), "validation loss": (EVAL, "eval_loss")}
FINETUNE_METRICS = {"accuracy": (EVAL, "eval_accuracy"), "precision": (EVAL, "eval_precision"),
                    "recall": (EVAL, "eval_recall"), "F1": (EVAL, "eval_f1"),
                    "F1 (macro)": (EVAL, "eval_f1_macro"), "ROC-AUC": (EVAL, "eval_roc_auc"),
                    "train accuracy": (TRAIN, "train_accuracy")}
PRETRAIN_LOSSES = {"MLM loss": (TRAIN, "mlm_loss"), "NSP loss": (TRAIN, "nsp_loss"),
                   "validation MLM loss": (EVAL, "eval_mlm_loss"),
                   "validation NSP loss": (EVAL, "eval_nsp_loss")}
PRETRAIN_METRICS = {"MLM accuracy": (TRAIN, "mlm_accuracy"), "NSP accuracy": (TRAIN, "nsp_accuracy"),
                    "validation MLM accuracy": (EVAL, "eval_mlm_accuracy"),
                    "validation NSP accuracy": (EVAL, "eval_nsp_accuracy")}


