"""Every layer's and head's self-attention for one input: the data behind the attention explorer.

BERT's layers each hold several heads, and each head's attention is a (tokens x tokens) matrix:
row i says how token i spreads its attention over all tokens (rows sum to 1). Much of it goes to
[CLS] and [SEP] in many heads (Clark et al. 2019, "What does BERT look at?"), so the share that
goes to special tokens is reported per head too.
"""

from __future__ import annotations

from typing import Any

from ..errors import BadInput

MAX_TOKENS = 48  # beyond this the grid's small maps turn to noise; the view says the text was cut


def attention_maps(text: str, loaded, pair: str | None = None, max_tokens: int = MAX_TOKENS) -> dict[str, Any]:
    """{"tokens", "special": [bool per token], "layers", "heads", "attentions": [layer][head][row][col],
    "special_share": [layer][head] (mean share of each row's attention on special tokens),
    "truncated", "model"}."""
    import torch

    from .mlm_forward import _EAGER_LOCK

    if text is None or not str(text).strip():
        raise BadInput("the text is empty: type a sentence to look at its attention")
    pair = pair if pair and str(pair).strip() else None
    tokenizer, model = loaded.tokenizer, loaded.model
    full = tokenizer(text, pair, truncation=False)["input_ids"]
    enc = tokenizer(text, pair, truncation=True, max_length=max_tokens, return_tensors="pt")
    ids = enc["input_ids"][0].tolist()
    enc = enc.to(model.device)
    special_ids = set(tokenizer.all_special_ids)
    special = [i in special_ids for i in ids]
    model.eval()
    # SDPA attention returns no weights: this one call runs with eager attention, serialised because
    # the model object is shared between requests (as fill-mask's attention view does).
    with _EAGER_LOCK, torch.no_grad():
        previous = getattr(model.config, "_attn_implementation", None)
        try:
            if previous and previous != "eager":
                model.set_attn_implementation("eager")
            out = model(**enc, output_attentions=True)
        finally:
            if previous and previous != "eager":
                model.set_attn_implementation(previous)
    if not out.attentions or out.attentions[0] is None:
        raise BadInput("this model does not return attention weights")
    stacked = torch.stack([a[0].float().cpu() for a in out.attentions])  # (layers, heads, T, T)
    mask = torch.tensor(special, dtype=torch.float32)
    share = (stacked * mask).sum(-1).mean(-1)  # (layers, heads): mean over rows of attention on specials
    return {"tokens": tokenizer.convert_ids_to_tokens(ids), "special": special,
            "layers": int(stacked.shape[0]), "heads": int(stacked.shape[1]),
            "attentions": stacked.round(decimals=4).tolist(), "special_share": share.round(decimals=4).tolist(),
            "truncated": len(full) > len(ids), "model": loaded.source.name}


def thumbnail(matrix, size: int = 72):
    """One head's map as a small greyscale-to-blue image (numpy uint8, size x size x 3)."""
    import numpy as np

    values = np.asarray(matrix, dtype=np.float32)
    values = values / max(float(values.max()), 1e-6)
    n = values.shape[0]
    scale = max(1, size // n)
    big = np.kron(values, np.ones((scale, scale), dtype=np.float32))
    image = np.empty(big.shape + (3,), dtype=np.uint8)
    image[..., 0] = (255 - 200 * big).astype(np.uint8)
    image[..., 1] = (255 - 140 * big).astype(np.uint8)
    image[..., 2] = 255 - (40 * big).astype(np.uint8)
    return image


def enlarged_html(result: dict[str, Any], layer: int, head: int) -> str:
    """One head's map as a table with the tokens on both axes (rows attend to columns)."""
    import html

    matrix = result["attentions"][layer][head]
    tokens = result["tokens"]
    top = max(max(row) for row in matrix) or 1.0
    head_cells = "".join(f"<th style='writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal;"
                         f"padding:2px;font-size:0.8em'>{html.escape(t)}</th>" for t in tokens)
    rows = []
    for token, row in zip(tokens, matrix):
        cells = "".join(f"<td title='{value:.3f}' style='width:14px;height:14px;padding:0;"
                        f"background:rgba(30,90,200,{value / top:.3f})'></td>" for value in row)
        rows.append(f"<tr><th style='text-align:right;font-weight:normal;padding-right:4px;font-size:0.85em;"
                    f"white-space:nowrap'>{html.escape(token)}</th>{cells}</tr>")
    share = result["special_share"][layer][head]
    note = (f"<p style='font-size:0.9em;color:#555'>Layer {layer + 1}, head {head + 1}: each row is a token and "
            f"how it spreads its attention over the tokens in the columns (darker = more). "
            f"<b>{share:.0%}</b> of this head's attention goes to special tokens ([CLS], [SEP]).</p>")
    return (f"{note}<div style='overflow-x:auto'><table style='border-collapse:collapse'>"
            f"<tr><th></th>{head_cells}</tr>{''.join(rows)}</table></div>")
