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
