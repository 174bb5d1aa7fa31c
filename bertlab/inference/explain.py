"""Why did the classifier say that: per-word attributions by integrated gradients (Captum).

Integrated gradients (Sundararajan et al. 2017) integrates the gradient of the predicted label's
probability along a straight path from a baseline input to the real one; the attributions of the
input's features then add up to the difference in probability between the two. Here the features
are the word-embedding vectors (Captum's LayerIntegratedGradients on the model's input embeddings)
and the baseline is the same sequence with every word piece replaced by [PAD] ([CLS] and [SEP]
kept), the usual choice for BERT. A token's attribution is the sum over its embedding vector; a
word's is the sum over its word pieces (a Chinese character is its own word).

Positive scores are evidence for the label, negative ones against it.
"""

from __future__ import annotations

import time
from typing import Any

from ..errors import BadInput
from .classify import label_names

# Steps of the path integral. 20 keeps a 20-word sentence well under a second on 2 CPU cores. When
# the completeness gap (sum of attributions vs. probability change) is above MAX_GAP the integral is
# taken again with 4x, then 16x the steps (each only if it fits RETRY_BUDGET_S): a model whose
# probability turns sharply along the path (a confident fine-tuned one) needs them, e.g. a gap of
# 0.68 at 20 steps and 0.03 at 320 on a test model.
# The gap and the steps used are returned so a reader can judge.
N_STEPS = 20
MAX_GAP = 0.05
RETRY_BUDGET_S = 10.0  # a retry runs only if it should take at most this long (from the first pass)


def explain(text: str, loaded, pair: str | None = None, target: str | None = None,
            n_steps: int = N_STEPS) -> dict[str, Any]:
    """Attributions of each word of `text` (and `pair`) to `target` (a label name; default: the
    predicted label). Returns {"label", "target", "probability", "words": [{"text", "start", "end",
    "sequence", "score", "share"}], "tokens": [...], "delta", "n_steps", "model"}; `share` is the score over the
    largest absolute score (for drawing), `sequence` 0 for the text and 1 for the pair."""
    import torch
    from captum.attr import LayerIntegratedGradients

    if text is None or not str(text).strip():
        raise BadInput("the text is empty: type a sentence to explain")
    pair = pair if pair and str(pair).strip() else None
    tokenizer, model = loaded.tokenizer, loaded.model
    if not getattr(tokenizer, "is_fast", False):
        raise BadInput("explanations need a fast tokenizer (tokenizer.json) to map word pieces back to words")
    names = label_names(model)
    limit = min(getattr(tokenizer, "model_max_length", 512) or 512, getattr(model.config, "max_position_embeddings", 512))
    enc = tokenizer(text, pair, truncation=True, max_length=limit, return_tensors="pt", return_offsets_mapping=True)
    offsets = enc.pop("offset_mapping")[0].tolist()
    word_ids, sequence_ids = enc.word_ids(0), enc.sequence_ids(0)
    enc = enc.to(model.device)
    model.eval()
    with torch.no_grad():
        probs = torch.softmax(model(**enc).logits.float(), -1)[0]
    predicted = int(probs.argmax())
    if target is None or target == "":
        target_id = predicted
    elif target in names:
        target_id = names.index(target)
    else:
        raise BadInput(f"label {target!r} is not one of this model's labels ({', '.join(names)})")

    input_ids = enc["input_ids"]
    special = torch.tensor([s is None for s in sequence_ids], device=input_ids.device)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    baseline = torch.where(special, input_ids[0], torch.full_like(input_ids[0], pad_id)).unsqueeze(0)
    extra = {k: v for k, v in enc.items() if k != "input_ids"}

    def probability(ids, *_):
        # (n_steps, seq) ids -> (n_steps, labels) probabilities; the mask and types repeat per step.
        batch = {k: v.expand(ids.shape[0], -1) for k, v in extra.items()}
        return torch.softmax(model(input_ids=ids, **batch).logits.float(), -1)

    explainer = LayerIntegratedGradients(probability, model.get_input_embeddings())
    per_step, used = None, n_steps
    for steps in (n_steps, 4 * n_steps, 16 * n_steps):
        if per_step is not None and per_step * steps > RETRY_BUDGET_S:
            break  # a long text: keep the coarser answer and its gap rather than keep the reader waiting
        started = time.perf_counter()
        # internal_batch_size: memory as for the first pass whatever the steps (attention maps are T^2)
        attributions, delta = explainer.attribute(input_ids, baselines=baseline, target=target_id, n_steps=steps,
                                                  internal_batch_size=n_steps, return_convergence_delta=True)
        per_step, used = (time.perf_counter() - started) / steps, steps
        if float(delta.abs().max()) <= MAX_GAP:
            break
    token_scores = attributions.sum(-1)[0].detach().tolist()  # (seq, hidden) -> one score per token

    sources = {0: text, 1: pair or ""}
    words: list[dict[str, Any]] = []
    index: dict[tuple[int, int], dict[str, Any]] = {}
    for position, (word, sequence) in enumerate(zip(word_ids, sequence_ids)):
        if word is None or sequence is None:
            continue
        start, end = offsets[position]
        entry = index.get((sequence, word))
        if entry is None:
            entry = {"sequence": sequence, "start": start, "end": end, "score": 0.0}
            index[(sequence, word)] = entry
            words.append(entry)
        entry["start"], entry["end"] = min(entry["start"], start), max(entry["end"], end)
        entry["score"] += token_scores[position]
    largest = max((abs(w["score"]) for w in words), default=0.0) or 1.0
    for w in words:
        w["text"] = sources[w["sequence"]][w["start"]:w["end"]]
        w["share"] = w["score"] / largest
    tokens = tokenizer.convert_ids_to_tokens(input_ids[0].tolist())
    return {"label": names[predicted], "target": names[target_id], "probability": float(probs[target_id]),
            "labels": names, "words": words,
            "tokens": [{"token": t, "score": s} for t, s in zip(tokens, token_scores)],
            "delta": float(delta.abs().max()), "n_steps": used, "model": loaded.source.name}


def heat_strip_html(result: dict[str, Any], text: str, pair: str | None = None) -> str:
    """The original text with each word shaded by its attribution: green for evidence for the
    label, red for evidence against, stronger for larger scores; hover shows the score."""
    import html

    def strip(source: str, sequence: int) -> str:
        parts, cursor = [], 0
        for w in sorted((w for w in result["words"] if w["sequence"] == sequence), key=lambda w: w["start"]):
            parts.append(html.escape(source[cursor:w["start"]]))
            share = w["share"]
            colour = "34,139,34" if share >= 0 else "200,60,60"
            parts.append(f"<span class='attribution' data-score='{w['score']:.6f}' title='{w['score']:+.4f}' "
                         f"style='background:rgba({colour},{0.08 + 0.72 * abs(share):.2f});border-radius:3px;"
                         f"padding:1px 2px;color:#111'>{html.escape(source[w['start']:w['end']])}</span>")
            cursor = w["end"]
        parts.append(html.escape(source[cursor:]))
        return "".join(parts)

    body = strip(text, 0) + (f"<br><b>Second text:</b> {strip(pair, 1)}" if pair else "")
    legend = (f"<div style='font-size:0.85em;color:#555;margin-top:6px'>Evidence for "
              f"<b>{html.escape(result['target'])}</b> (probability {result['probability']:.2f}): "
              "<span style='background:rgba(34,139,34,0.6);padding:0 4px'>for</span> "
              "<span style='background:rgba(200,60,60,0.6);padding:0 4px'>against</span>; "
              "integrated gradients on the word embeddings (Captum), hover a word for its score.</div>")
    return f"<div class='heat-strip' style='line-height:2;font-size:1.1em'>{body}</div>{legend}"
