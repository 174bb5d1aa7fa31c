"""The example data shipped in examples/, offered in the page as "use example data"."""

from __future__ import annotations

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example_files() -> dict[str, str]:
    """Display name -> path, for the files that exist in this checkout."""
    candidates = {
        "English sentiment (CSV)": EXAMPLES / "data" / "sentiment_en.csv",
        "Chinese sentiment (CSV)": EXAMPLES / "data" / "sentiment_zh.csv",
        "English sentence pairs (CSV)": EXAMPLES / "data" / "pairs_en.csv",
        "English corpus for pre-training": EXAMPLES / "data" / "corpus_en.txt",
        "Chinese corpus for pre-training": EXAMPLES / "data" / "corpus_zh.txt",
    }
    return {name: str(path) for name, path in candidates.items() if path.exists()}
