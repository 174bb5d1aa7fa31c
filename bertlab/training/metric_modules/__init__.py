"""evaluate metric modules written for bertlab, loaded by local path so nothing comes from the hub.

Each sub-folder <name>/<name>.py is an `evaluate.Metric`; `evaluate.load(str(MODULES / "f1"))`
loads one (bertlab.training.metrics does this once per process and caches the objects). The arithmetic
lives in `_core.py` (numpy only); the modules import it from the installed bertlab package, so they
need bertlab importable but never the network.
"""

from pathlib import Path

MODULES = Path(__file__).resolve().parent
NAMES = ("accuracy", "precision", "recall", "f1", "roc_auc", "confusion_matrix")


def path(name: str) -> str:
    """The folder to pass to evaluate.load for one of NAMES."""
    if name not in NAMES:
        raise KeyError(f"no bertlab metric module {name!r}; there are {', '.join(NAMES)}")
    return str(MODULES / name)
