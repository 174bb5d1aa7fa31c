"""Dropout for training on the CPU, with its keep-masks drawn 16 bits at a time.

PyTorch's CPU dropout draws one Bernoulli sample per element (`bernoulli_`): on a quiet 2-core
CPU about 500 us for a (16, 14, 384) activation, 6 ns an element, 3.5x the time of the matmul
that produced it; fine-tuning the default spent ~7% of each step there (20 dropouts a step,
torch.profiler). With the masks below, engine steps ran 1.05x (fine-tuning) and 1.08x (pre-training)
as fast (benchmarks/cpu_dropout.py). Here one call to the generator fills 64 bits, read as four 16-bit uniform
integers, and an element is kept when its integer is at or above p x 65,536: the same Bernoulli
masks in distribution (keep probability exact to 1/65,536: 0.899994 for p = 0.1), scaled by
1 / (1 - p) as nn.Dropout does, from the same global generator (seeds and resumes reproduce them),
about 10x faster to draw. On a GPU the fused dropout kernel is already fast: `install` leaves
models there alone.

What it replaces: the model's nn.Dropout modules (hidden-state and classifier dropout), and for a
BERT model on PyTorch's "sdpa" attention the attention function while training (ATTENTION, registered
with transformers' AttentionInterface): SDPA on the CPU computes dropout on the attention
probabilities with `bernoulli_` too (its math path: scores, softmax, dropout, values), and at 128
tokens that tensor is 16 x 12 x 128 x 128 for a batch of 16. The replacement computes the same
four steps with this module's masks; in eval mode, off the CPU, with dropout 0 or for a causal
module it hands over to transformers' own SDPA function unchanged.
"""

from __future__ import annotations

import torch

_LEVELS = 1 << 16  # 16-bit draws: the keep probability is a multiple of 1/65,536


def keep_mask(shape, p: float, device=None) -> torch.Tensor:
    """A bool tensor of `shape`: True with probability 1 - p (to 1/65,536), drawn from the global generator."""
    count = 1
    for size in shape:
        count *= size
    words = (count + 3) // 4  # four 16-bit draws per 64-bit word
    bits = torch.empty(words, dtype=torch.int64, device=device).random_(-(1 << 63), None)  # every 64-bit value
    halves = bits.view(torch.int16)[:count].view(shape)  # uniform over [-32768, 32767]
    return halves >= round(p * _LEVELS) - (_LEVELS // 2)


def drop(x: torch.Tensor, p: float) -> torch.Tensor:
    """x with each element zeroed with probability p and the rest scaled by 1 / (1 - p)."""
    if p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    noise = keep_mask(x.shape, p, x.device).to(x.dtype).mul_(1.0 / (1.0 - p))
    return x * noise  # autograd keeps `noise` for the backward, as PyTorch's own dropout does


class FastDropout(torch.nn.Dropout):
    """nn.Dropout with keep_mask's masks while training; the identity in eval mode."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.device.type != "cpu":  # moved to a GPU after install: the fused kernel there is faster
            return torch.nn.functional.dropout(x, self.p, True)
        return drop(x, self.p)


ATTENTION = "bertlab_cpu_dropout"  # the attention implementation's name in transformers' registry


def attention(module, query, key, value, attention_mask, dropout: float = 0.0, scaling=None, **kwargs):
    """transformers' attention-function interface: (B, heads, T, d) query/key/value in, (B, T, heads, d)
    out. While training on the CPU: SDPA's math path with keep_mask's dropout; otherwise SDPA itself."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    # Anything beyond BERT's plain bidirectional attention goes to SDPA as it is.
    if (dropout == 0.0 or not module.training or query.device.type != "cpu" or getattr(module, "is_causal", True)
            or kwargs.get("is_causal") or getattr(module, "num_key_value_groups", 1) > 1
            or any(kwargs.get(k) is not None for k in ("position_bias", "softcap", "cache"))
            or kwargs.get("output_attentions")):
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    scores = torch.matmul(query, key.transpose(-1, -2)) * scaling  # (B, heads, Tq, Tk)
    if attention_mask is not None:
        if attention_mask.dtype == torch.bool:  # SDPA's masks: True = attend
            scores = scores.masked_fill(~attention_mask, torch.finfo(scores.dtype).min)
        else:
            scores = scores + attention_mask
    weights = drop(torch.softmax(scores, dim=-1), dropout)
    return torch.matmul(weights, value).transpose(1, 2).contiguous(), None  # (B, Tq, heads, d)


def _register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(ATTENTION, attention)
    AttentionMaskInterface.register(ATTENTION, sdpa_mask)  # the masks SDPA gets, built the same way


def install(model) -> int:
    """Replace every nn.Dropout of a CPU model by FastDropout (same p), and its "sdpa" attention by
    ATTENTION; returns how many dropout modules were replaced. A model with any parameter off the
    CPU is left as it is (0). State dicts and saved models are unchanged: dropout has no weights,
    and the attention implementation is not written to config.json."""
    if any(param.device.type != "cpu" for param in model.parameters()):
        return 0
    for module in model.modules():  # the model itself, or the transformers model a wrapper holds
        config = getattr(module, "config", None)
        if (getattr(config, "model_type", None) == "bert" and getattr(config, "_attn_implementation", None) == "sdpa"
                and hasattr(module, "set_attn_implementation")):
            _register()
            module.set_attn_implementation(ATTENTION)
    replaced = 0
    for module in model.modules():
        for name, child in list(module.named_children()):
            if type(child) is torch.nn.Dropout:
                replacement = FastDropout(child.p, inplace=False)
                replacement.train(child.training)  # a model loaded in eval mode stays deterministic
                setattr(module, name, replacement)
                replaced += 1
    return replaced
