"""Masked-token prediction: what BERT was pre-trained to do.

`fill_mask(text, loaded)` finds every mask in `text` (`[MASK]`, `<mask>` or the model's own mask
token, in any case and spacing), runs the encoder once over the whole sentence and scores every
vocabulary entry at each masked position. Two readings of a sentence with several masks:

* independent: each mask gets its own top-k from the one pass (what transformers' pipeline gives);
* joint: fill the mask the model is surest about, predict again with that word in place, repeat —
  so "The [MASK] [MASK] is the capital of China" can come out as one consistent phrase.

Speed: the vocabulary projection (hidden -> 30k logits) costs about as much as the whole encoder on a
short sentence, and only the masked rows of it are ever read. So we call the encoder (`model.bert`)
ourselves, gather the hidden states at the mask positions and run the MLM head on those rows only.
Architectures whose head we do not know fall back to the full logits (correct, just slower).

Token display: candidates keep the vocabulary's spelling (WordPiece continuation pieces stay
`##ing`) and carry `continues_word: True` plus `text` ("ing"), the string that goes into the
sentence (glued to the previous word). Special tokens ([CLS], [SEP], [PAD], [UNK], [MASK]) are never
offered as candidates; probabilities are still the softmax over the full vocabulary.
"""

from __future__ import annotations

import re
import threading
import unicodedata
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import fast_inference
from ..errors import BadInput
from .mlm_forward import _LM_HEAD_TYPES
from . import probabilities

MAX_MASKS = 20
MAX_TOP_K = 100

@dataclass
class _TokenizerInfo:
    """What fill_mask needs to know about a tokenizer, computed once per tokenizer object."""

    mask_re: re.Pattern
    mask_token: str
    mask_id: int
    special_ids: list[int]
    wordpiece_prefix: str | None  # "##" for WordPiece, None for BPE / SentencePiece
    splits_chinese: bool  # the tokenizer gives each CJK character its own token
    chinese_vocab: bool  # most of the vocabulary is single CJK characters


_INFO: "weakref.WeakKeyDictionary[Any, _TokenizerInfo]" = weakref.WeakKeyDictionary()
_INFO_LOCK = threading.Lock()


def _spelling_pattern(token: str) -> str:
    """`[MASK]` -> r"\\[\\s*MASK\\s*\\]": the token's words and punctuation, any spacing between."""
    parts = re.findall(r"\w+|[^\w\s]", token)
    return r"\s*".join(re.escape(p) for p in parts)


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2A6DF
            or 0xF900 <= code <= 0xFAFF or 0x2F800 <= code <= 0x2FA1F)


def _tokenizer_info(tokenizer) -> _TokenizerInfo:
    with _INFO_LOCK:
        info = _INFO.get(tokenizer)
    if info is not None:
        return info
    mask_token = getattr(tokenizer, "mask_token", None)
    mask_id = getattr(tokenizer, "mask_token_id", None)
    if not mask_token or mask_id is None:
        raise BadInput("this model's tokenizer has no mask token, so it cannot fill masks")
    spellings = {_spelling_pattern(s) for s in ("[MASK]", "<mask>", mask_token)}
    mask_re = re.compile("|".join(sorted(spellings, key=len, reverse=True)), re.IGNORECASE)

    prefix = None
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None and type(backend.model).__name__ == "WordPiece":
        prefix = backend.model.continuing_subword_prefix
    vocab = tokenizer.get_vocab()
    cjk_single = sum(1 for tok in vocab if len(tok) == 1 and _is_cjk(tok))
    splits = len(tokenizer.tokenize("中国")) == 2
    info = _TokenizerInfo(mask_re=mask_re, mask_token=mask_token, mask_id=int(mask_id),
                          special_ids=sorted(set(int(i) for i in tokenizer.all_special_ids)),
                          wordpiece_prefix=prefix, splits_chinese=splits,
                          chinese_vocab=splits and cjk_single >= 0.3 * max(1, len(vocab)))
    with _INFO_LOCK:
        _INFO[tokenizer] = info
    return info


def _max_length(loaded) -> int:
    """Longest input (special tokens included) the model accepts."""
    limits = []
    tok_max = getattr(loaded.tokenizer, "model_max_length", None)
    if isinstance(tok_max, int) and 0 < tok_max < 1_000_000:
        limits.append(tok_max)
    config = getattr(loaded.model, "config", None)
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        # RoBERTa-style models number positions from padding_idx + 1.
        offset = (config.pad_token_id or 0) + 1 if config.model_type in _LM_HEAD_TYPES else 0
        limits.append(positions - offset)
    return min(limits) if limits else 512


# --------------------------------------------------------------------------------------------
# model calls


def _forward(model, ids: list[int], positions: list[int], attention: bool):
    """Logits (M, V) at `positions`, and (M, T) last-layer attention when asked (else None), as
    numpy arrays. ONNX Runtime computes both once the model's fast path is ready
    (bertlab.inference.fast_inference), PyTorch until then (bertlab.inference.mlm_forward)."""
    runner = fast_inference.ready(model)
    if runner is not None:
        logits, att = runner.masked_lm(ids, positions)
        return logits, (att if attention else None)
    from .mlm_forward import torch_forward

    logits, att = torch_forward(model, ids, positions, attention)
    return logits.float().cpu().numpy(), (att.float().cpu().numpy() if att is not None else None)


# --------------------------------------------------------------------------------------------
# text handling


def _find_masks(text: str, info: _TokenizerInfo) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in info.mask_re.finditer(text)]


def _window(ids: list[int], content: tuple[int, int], positions: list[int], max_len: int,
            tokenizer, info: _TokenizerInfo) -> tuple[int, int, str]:
    """Pick content tokens [start, end) around the masks so the input fits `max_len`."""
    lo, hi = content
    budget = max_len - (len(ids) - (hi - lo))  # room left after the special tokens
    first, last = positions[0], positions[-1]
    if last - first + 1 > budget:
        raise BadInput(f"the masks are spread over {last - first + 1} tokens but this model reads at "
                       f"most {budget} tokens of text at once; put the masks closer together or "
                       "split the text")
    spare = budget - (last - first + 1)
    start = max(lo, first - spare // 2)
    end = min(hi, start + budget)
    start = max(lo, end - budget)
    if info.wordpiece_prefix:  # do not start the window in the middle of a word
        tokens = tokenizer.convert_ids_to_tokens(ids[start:first])
        skip = 0
        while skip < len(tokens) and tokens[skip].startswith(info.wordpiece_prefix):
            skip += 1
        start += skip
    n_text = hi - lo
    notice = (f"the text is {n_text} tokens but this model reads at most {budget} at once: kept "
              f"{end - start} tokens around the masks (dropped {start - lo} before and {hi - end} "
              "after)")
    return start, end, notice


def _encode(text: str, loaded, info: _TokenizerInfo):
    """Tokenize with the masks in place. Returns ids, special flags, mask positions, notices."""
    tokenizer = loaded.tokenizer
    spans = _find_masks(text, info)
    pieces, cursor = [], 0
    for start, end in spans:
        pieces.append(text[cursor:start])
        pieces.append(info.mask_token)
        cursor = end
    pieces.append(text[cursor:])
    enc = tokenizer("".join(pieces), return_special_tokens_mask=True, verbose=False)
    ids, special = list(enc["input_ids"]), list(enc["special_tokens_mask"])
    positions = [i for i, t in enumerate(ids) if t == info.mask_id]
    if len(positions) != len(spans):
        raise BadInput(f"found {len(spans)} mask(s) in the text but the tokenizer kept "
                       f"{len(positions)}; write each mask as {info.mask_token} between words")
    notices = []
    max_len = _max_length(loaded)
    if len(ids) > max_len:
        content_idx = [i for i, s in enumerate(special) if not s]
        lo, hi = content_idx[0], content_idx[-1] + 1
        start, end, notice = _window(ids, (lo, hi), positions, max_len, tokenizer, info)
        ids = ids[:lo] + ids[start:end] + ids[hi:]
        special = special[:lo] + special[start:end] + special[hi:]
        positions = [i for i, t in enumerate(ids) if t == info.mask_id]
        notices.append(notice)
    return spans, ids, special, positions, notices


def _readable(token: str, tokenizer, info: _TokenizerInfo) -> tuple[str, str, bool]:
    """(shown token, text that goes into the sentence, continues the previous word?)."""
    if info.wordpiece_prefix is not None:
        if token.startswith(info.wordpiece_prefix) and len(token) > len(info.wordpiece_prefix):
            return token, token[len(info.wordpiece_prefix):], True
        return token, token, False
    text = tokenizer.convert_tokens_to_string([token]).strip()
    return text or token, text or token, False


def _target_ids(targets, tokenizer, info: _TokenizerInfo, notices: list[str]) -> list[int]:
    if isinstance(targets, str):
        targets = targets.split(",")
    ids: list[int] = []
    special = set(info.special_ids)
    for word in targets:
        word = word.strip()
        if not word:
            continue
        piece_ids = tokenizer(word, add_special_tokens=False)["input_ids"]
        if not piece_ids:
            notices.append(f"target {word!r} is empty after tokenization; ignored")
            continue
        first = piece_ids[0]
        if first == tokenizer.unk_token_id or first in special:
            notices.append(f"target {word!r} is not in this model's vocabulary; ignored")
            continue
        if len(piece_ids) > 1:
            pieces = tokenizer.convert_ids_to_tokens(piece_ids)
            notices.append(f"target {word!r} is {len(piece_ids)} tokens ({' '.join(pieces)}); "
                           f"scored by its first piece {pieces[0]!r}")
        if first not in ids:
            ids.append(first)
    if not ids:
        raise BadInput("none of the targets is in this model's vocabulary: "
                       + ", ".join(repr(t.strip()) for t in targets if t.strip()))
    return ids


def _needs_space(left: str, right: str) -> bool:
    """Two letters/digits of a spaced script meeting: the tokenizer read them as separate words."""
    return bool(left and right and left.isalnum() and right.isalnum()
                and not _is_cjk(left) and not _is_cjk(right))


def _fill_text(text: str, spans: list[tuple[int, int]], fills: list[tuple[str, bool]]) -> str:
    """Put each fill into its mask span. A continuation piece (##ing) is glued to the word before;
    a whole word typed against a neighbour ("walk[MASK]") gets a space, since the model predicted
    a separate word there."""
    out, cursor = [], 0
    for (start, end), (word, glue) in zip(spans, fills):
        before = text[cursor:start]
        if glue:
            before = before.rstrip()
        elif _needs_space(before[-1:] if before else "".join(out)[-1:], word[:1]):
            before += " "
        out.append(before)
        out.append(word)
        if _needs_space(word[-1:], text[end:end + 1]):
            out.append(" ")
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


# --------------------------------------------------------------------------------------------
# the API


def fill_mask(text: str, loaded, top_k: int = 5, targets=None, joint: bool = True,
              attention: bool = True) -> dict[str, Any]:
    """Predict every masked token in `text` with `loaded` (a bertlab.modeling.registry.LoadedModel).

    Returns {"masks": [{"position", "candidates": [{"token", "score", "token_id", "text",
    "continues_word"}]}], "filled", "joint": {"filled", "order", "tokens", "scores"} | None,
    "tokens": [{"token", "id", "is_mask", "special"}], "attention": [[float]*T per mask] | None,
    "notices": [str], "model": name}. Raises BadInput for anything the user can fix.
    """
    if text is None or not str(text).strip():
        raise BadInput("the text is empty: type a sentence with [MASK] where a word is missing")
    text = unicodedata.normalize("NFC", str(text))
    try:
        top_k = int(top_k)
    except (TypeError, ValueError):
        raise BadInput(f"top-k must be a whole number, got {top_k!r}") from None
    if not 1 <= top_k <= MAX_TOP_K:
        raise BadInput(f"top-k must be between 1 and {MAX_TOP_K}, got {top_k}")
    tokenizer, model = loaded.tokenizer, loaded.model
    info = _tokenizer_info(tokenizer)
    fast_inference.prepare(loaded, "masked-lm")  # PyTorch answers until the fast path is ready

    n_masks = len(_find_masks(text, info))
    if n_masks == 0:
        own = "" if info.mask_token in ("[MASK]", "<mask>") else f" or {info.mask_token}"
        raise BadInput(f"no mask in the text: write [MASK]{own} where the missing word goes, "
                       "e.g. 'The capital of France is [MASK].'")
    if n_masks > MAX_MASKS:
        raise BadInput(f"the text has {n_masks} masks; at most {MAX_MASKS} are allowed at once")

    spans, ids, special, positions, notices = _encode(text, loaded, info)
    if info.chinese_vocab or (info.splits_chinese and any(_is_cjk(c) for c in text)):
        notices.append("[MASK] stands for one character: this model reads Chinese one character "
                       "per token, so a two-character word needs [MASK][MASK]")
    target_ids = _target_ids(targets, tokenizer, info, notices) if targets else None

    logits, att = _forward(model, ids, positions, attention)
    probs = probabilities.softmax(logits, np.float32)  # (M, V) over the full vocabulary

    def top(p, k):
        """Top-k (ids, scores) of each row of p (N, V): among the targets if given, never a special token."""
        if target_ids is not None:
            return probabilities.top_k(p, k, allowed=target_ids)
        return probabilities.top_k(p, k, excluded=info.special_ids)

    top_ids, top_scores = top(probs, top_k)
    masks, first_fill = [], []
    for row, pos in enumerate(positions):
        tokens = tokenizer.convert_ids_to_tokens(top_ids[row].tolist())
        cands = []
        for tok, tid, score in zip(tokens, top_ids[row].tolist(), top_scores[row].tolist()):
            shown, word, glue = _readable(tok, tokenizer, info)
            cands.append({"token": shown, "score": score, "token_id": tid, "text": word,
                          "continues_word": glue})
        masks.append({"position": pos, "candidates": cands})
        first_fill.append((cands[0]["text"], cands[0]["continues_word"]))

    mask_set = set(positions)
    result: dict[str, Any] = {
        "masks": masks,
        "filled": _fill_text(text, spans, first_fill),
        "joint": None,
        "tokens": [{"token": tok, "id": tid, "is_mask": i in mask_set, "special": bool(sp)}
                   for i, (tok, tid, sp)
                   in enumerate(zip(tokenizer.convert_ids_to_tokens(ids), ids, special))],
        "attention": [[float(x) for x in row] for row in att.tolist()] if att is not None else None,
        "notices": notices,
        "model": getattr(getattr(loaded, "source", None), "name", None),
    }
    if attention and att is None:
        notices.append("the attention view is not available for this model's architecture")
    if joint:
        result["joint"] = _joint_fill(text, spans, ids, positions, probs, model, tokenizer, info, top)
    return result


def _joint_fill(text, spans, ids, positions, probs, model, tokenizer, info, top) -> dict[str, Any]:
    """Fill the most confident mask, predict the rest again with it in place, repeat.

    `probs` (M, V) is the first pass, reused for the first pick, so one mask costs no extra call
    and M masks cost M - 1 more encoder passes."""
    ids = list(ids)
    remaining = list(range(len(positions)))
    chosen: list[tuple[str, bool] | None] = [None] * len(positions)
    shown: list[str | None] = [None] * len(positions)
    scores: list[float | None] = [None] * len(positions)
    order: list[int] = []
    current = probs  # rows follow `remaining`
    while remaining:
        best_ids, best_scores = top(current, 1)  # (R, 1)
        pick = int(best_scores[:, 0].argmax())
        mask_index = remaining[pick]
        token_id = int(best_ids[pick, 0])
        token = tokenizer.convert_ids_to_tokens([token_id])[0]
        label, word, glue = _readable(token, tokenizer, info)
        chosen[mask_index], shown[mask_index] = (word, glue), label
        scores[mask_index] = float(best_scores[pick, 0])
        order.append(mask_index)
        ids[positions[mask_index]] = token_id
        remaining.pop(pick)
        if remaining:
            logits, _ = _forward(model, ids, [positions[i] for i in remaining], attention=False)
            current = probabilities.softmax(logits, np.float32)
    return {"filled": _fill_text(text, spans, chosen), "order": order, "tokens": shown,
            "scores": scores}
