"""bertlab's benchmarks: each script measures bertlab against a baseline in the same run and
prints the ratio; `python -m benchmarks` gathers them into one table (see benchmarks/README.md)."""

import os
from pathlib import Path


def shared_data() -> Path:
    """The public data sets' folder: $BERTLAB_DATA when set (a GPU machine, another layout), else
    ../shared/data beside the project. bertlab never needs it; benchmarks that read it skip without it."""
    return Path(os.environ.get("BERTLAB_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")
