"""Give a pretrained BERT a new vocabulary, keeping its transformer body.

Work on moving a monolingual model to another language (Artetxe et al. 2020, "On the
Cross-lingual Transferability of Monolingual Representations"; de Vries & Nissim 2021; WECHSEL,
Minixhofer et al. 2022) finds the body transfers: new word embeddings for the new vocabulary
learn far faster on top of a trained body than a model from scratch. bertlab uses this to turn
the English default into a Chinese masked-LM (`pretrain --model default --tokenizer
default-chinese`).

How the new embedding matrix starts:
- a token both vocabularies hold (special tokens, digits, ASCII words, the few CJK characters of
  bert-base-uncased) keeps its trained row;
- every other row is drawn from the old rows' per-dimension mean and spread, so the body's
  first LayerNorm sees inputs of the size it was trained on (zeros or the default std 0.02 would
  be ~50x too small for this model);
- the MLM decoder's bias, where the model has one, starts at the log unigram frequency of each
  token in the training corpus: the first prediction is the frequency prior, not a uniform guess
  over the vocabulary (ln 21k = 10 nats), so early steps go into context, not into counting.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any


def transfer_vocabulary(model, old_tokenizer, new_tokenizer, token_counts: Counter | None = None,
                        seed: int = 0) -> dict[str, Any]:
    """Resize `model` (a BERT with or without an MLM head) to `new_tokenizer`'s vocabulary in place.
    Returns what was kept: {"vocab_size", "shared_tokens", "new_tokens"}."""
    import torch

    old_emb = model.get_input_embeddings().weight.detach().clone()  # (V_old, H)
    old_vocab = old_tokenizer.get_vocab()
    new_vocab = new_tokenizer.get_vocab()
    new_size = len(new_tokenizer)
    generator = torch.Generator().manual_seed(seed)
    mean, std = old_emb.mean(0), old_emb.std(0)  # (H,), (H,)
    new_emb = mean + std * torch.randn(new_size, old_emb.shape[1], generator=generator)  # (V_new, H)
    shared = 0
    for token, new_id in new_vocab.items():
        old_id = old_vocab.get(token)
        if old_id is not None and new_id < new_size:
            new_emb[new_id] = old_emb[old_id]
            shared += 1
    # The same roles by name too ([CLS] may be spelled differently in another family's vocabulary).
    for attr in ("cls_token_id", "sep_token_id", "mask_token_id", "pad_token_id", "unk_token_id"):
        old_id, new_id = getattr(old_tokenizer, attr, None), getattr(new_tokenizer, attr, None)
        if old_id is not None and new_id is not None:
            new_emb[new_id] = old_emb[old_id]

    model.resize_token_embeddings(new_size, mean_resizing=False)
    embeddings = model.get_input_embeddings()
    with torch.no_grad():
        embeddings.weight.copy_(new_emb)
    if new_tokenizer.pad_token_id is not None:
        embeddings.padding_idx = new_tokenizer.pad_token_id
        model.config.pad_token_id = new_tokenizer.pad_token_id
    model.tie_weights()  # the decoder (where there is one) shares the new matrix

    output = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    bias = getattr(output, "bias", None) if output is not None else None
    if bias is not None and bias.shape[0] == new_size:
        with torch.no_grad():
            bias.copy_(unigram_log_prior(token_counts or Counter(), new_size))
    return {"vocab_size": new_size, "shared_tokens": shared, "new_tokens": new_size - shared}


def unigram_log_prior(token_counts: Counter, vocab_size: int, smoothing: float = 0.5):
    """log p(token) from corpus counts (add-`smoothing`), centred at zero: (V,)"""
    import torch

    counts = torch.full((vocab_size,), smoothing)
    for token_id, n in token_counts.items():
        if 0 <= token_id < vocab_size:
            counts[token_id] += n
    log_p = counts.log() - math.log(float(counts.sum()))
    return log_p - log_p.mean()
