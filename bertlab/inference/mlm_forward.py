"""The masked-LM forward pass on PyTorch: the vocabulary head on the masked rows only, and the
last layer's attention of those rows. fill_mask calls it until a model's ONNX Runtime fast path is
ready; the fast path checks its answers against it, and onnx_export traces the same computation.
Its own module so that those three do not import each other."""

from __future__ import annotations

import threading

# Model types whose masked-LM head is a single module `lm_head(features)` over hidden rows.
_LM_HEAD_TYPES = {"roberta", "xlm-roberta", "camembert", "roberta-prelayernorm", "data2vec-text",
                  "xlm-roberta-xl"}


# Switching a shared model to eager attention (fallback path only) must not interleave.
_EAGER_LOCK = threading.Lock()


def _mlm_head(model):
    """The module that maps hidden rows (N, H) to vocabulary logits (N, V), or None if unknown."""
    cls = getattr(model, "cls", None)
    if cls is not None and hasattr(cls, "predictions"):  # BertForMaskedLM, BertForPreTraining
        return cls.predictions
    config = getattr(model, "config", None)
    if getattr(config, "model_type", None) in _LM_HEAD_TYPES and hasattr(model, "lm_head"):
        return model.lm_head
    return None


def _last_self_attention(base):
    """The last layer's self-attention module when it is BERT-shaped (query/key projections)."""
    try:
        module = base.encoder.layer[-1].attention.self
    except (AttributeError, IndexError, TypeError):
        return None
    needed = ("query", "key", "num_attention_heads", "attention_head_size", "scaling")
    return module if all(hasattr(module, a) for a in needed) else None


def _attention_rows(module, layer_input, positions):
    """Last-layer attention of the mask rows over all tokens, averaged over heads: (M, T).

    softmax(Q Kᵀ / √d) computed for the mask queries only, from the hidden states that enter the
    last layer. Batch of one, no padding, so no attention mask is needed."""
    import torch

    h = layer_input[0]  # (T, H)
    nh, hd = module.num_attention_heads, module.attention_head_size
    # -1, not len(positions): the ONNX export keeps the number of masks and tokens dynamic.
    q = module.query(h[positions]).view(-1, nh, hd).transpose(0, 1)  # (nh, M, hd)
    k = module.key(h).view(-1, nh, hd).transpose(0, 1)  # (nh, T, hd)
    probs = torch.softmax(q @ k.transpose(-1, -2) * module.scaling, dim=-1)  # (nh, M, T)
    return probs.mean(0)


def torch_forward(model, ids: list[int], positions: list[int], attention: bool):
    """Logits (M, V) at `positions`, and (M, T) last-layer attention when asked (else None)."""
    import torch

    input_ids = torch.tensor([ids], dtype=torch.long, device=model.device)
    index = torch.tensor(positions, dtype=torch.long, device=model.device)
    head = _mlm_head(model)
    base = getattr(model, getattr(model, "base_model_prefix", ""), None)
    with torch.inference_mode():
        if head is not None and isinstance(base, torch.nn.Module):
            att_module = _last_self_attention(base) if attention else None
            out = base(input_ids=input_ids, output_hidden_states=att_module is not None)
            rows = out.last_hidden_state[0].index_select(0, index)  # (M, H): the masked rows only
            logits = head(rows)  # (M, V)
            if att_module is not None:
                return logits, _attention_rows(att_module, out.hidden_states[-2], index)
            if not attention:
                return logits, None
        else:
            out = model(input_ids=input_ids)
            logits = out.logits[0].index_select(0, index)
            if not attention:
                return logits, None
        # Attention for an architecture we cannot compute by hand: ask the model for it. SDPA
        # returns no weights, so run this one call with eager attention (serialised: the model
        # object is shared between requests).
        with _EAGER_LOCK:
            previous = model.config._attn_implementation
            try:
                model.set_attn_implementation("eager")
                out = model(input_ids=input_ids, output_attentions=True)
            finally:
                model.set_attn_implementation(previous)
        if not out.attentions or out.attentions[-1] is None:
            return logits, None
        return logits, out.attentions[-1][0].mean(0).index_select(0, index)
