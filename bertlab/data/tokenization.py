"""How BERT sees text, and the vocabularies it sees it through.

Four things live here:

* `chinese_tokenizer_dir()` / `chinese_tokenizer()`: an offline BERT-style Chinese vocabulary.
  No Chinese BERT tokenizer exists on a fresh machine without network, so bertlab builds one,
  deterministically, from packages that are installed anyway: every CJK character jieba knows
  (its dictionary and its HMM character table, which also covers traditional characters),
  ASCII, common punctuation and symbols, full-width forms, and English WordPiece pieces taken
  from the default English model's bert-base-uncased vocabulary. Ids follow bert-base-chinese's
  layout: [PAD]=0, [unused1..99], [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103.
* `tokenize_view()`: everything the tokenization tab and `python -m bertlab tokenize` show for
  one input: BERT's tokens with ids / type ids / mask / offsets, [UNK]s, jieba's three modes,
  whole-word-masking groups and a seeded masking example.
* `wwm_word_ids()`: a word index per token for whole-word masking (used by the pre-training
  collator): `##` pieces continue an English word, consecutive Chinese characters that form one
  jieba word share an index (the Chinese-BERT-wwm recipe, with jieba in place of LTP).
* `train_wordpiece()`: train a BERT WordPiece vocabulary on the user's corpus.

Nothing here imports torch.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import random
import shutil
import tempfile
import threading
import unicodedata
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from ..errors import BadInput, DataError

# Bumped whenever the recipe below changes, so an old cached folder is never reused for a new recipe.
RECIPE_VERSION = 1
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# Tokens that whole-word masking never selects (they carry no text). [UNK] is real input: maskable.
NON_MASKABLE = frozenset({"[CLS]", "[SEP]", "[PAD]", "[MASK]", "<s>", "</s>", "<pad>", "<mask>", "<cls>", "<sep>"})
# How many English words/pieces to take from bert-base-uncased (in its order, which is roughly by
# frequency). Keeps the vocabulary near bert-base-chinese's 21,128 entries plus traditional characters.
ENGLISH_PIECES = 8000
MODEL_MAX_LENGTH = 512
# The page renders one cell per token; past this many characters the view is cut (with a notice).
MAX_VIEW_CHARS = 10_000
MAX_VIEW_LENGTH = 4096  # largest --max-length the view pads/truncates to
MASK_RATE = 0.15  # BERT's masking rate, used by the whole-word-masking example
MAX_SEED = 2**32 - 1

# Character ranges BERT treats as "Chinese" (handle_chinese_chars puts spaces around them, so each is
# its own word). Same ranges as the original BERT BasicTokenizer and tokenizers' BertNormalizer.
_CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
               (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))

# Non-CJK characters in the vocabulary: blocks of punctuation and symbols common in Chinese text
# (People's Daily uses full-width digits, ○ as zero, ①, ℃, ※ ...). Unassigned code points, marks,
# and characters the normalizer would rewrite (uppercase, accented) are filtered out when building.
_SYMBOL_RANGES = (
    (0x21, 0x7E),        # ASCII letters, digits, punctuation
    (0xA1, 0xBF),        # Latin-1 punctuation and signs: ¥ § ° ± · ¿ ...
    (0xD7, 0xD7), (0xF7, 0xF7),  # × ÷
    (0x3B1, 0x3C9),      # Greek lowercase (uppercase is lowercased by the normalizer)
    (0x430, 0x44F), (0x451, 0x451),  # Cyrillic lowercase
    (0x2010, 0x205E),    # General Punctuation: dashes, quotes, … ‰ ※
    (0x2100, 0x218F),    # Letterlike (℃ №) and Number Forms (Roman numerals)
    (0x2190, 0x21FF),    # Arrows
    (0x2200, 0x22FF),    # Mathematical Operators
    (0x2460, 0x24FF),    # Enclosed Alphanumerics ① ⑴ ⒈
    (0x2500, 0x257F),    # Box Drawing
    (0x25A0, 0x25FF),    # Geometric Shapes ■ □ ▲ ○ ●
    (0x3001, 0x303F),    # CJK Symbols and Punctuation 、。〈〉《》「」【】〇
    (0x3041, 0x3096), (0x30A1, 0x30FA), (0x30FC, 0x30FC),  # Japanese kana (often in Chinese text)
    (0x3105, 0x312F),    # Bopomofo
    (0x3220, 0x3243), (0x3280, 0x32B0),  # ㈠ ㊀
    (0xFE30, 0xFE4F), (0xFE50, 0xFE6B),  # CJK compatibility forms and small variants ﹏
    (0xFF01, 0xFF65),    # Full-width ASCII variants and half-width CJK punctuation
    (0xFFE0, 0xFFE6),    # ￥ ￡ ...
)
_EXTRA_SYMBOLS = "★☆♀♂♠♡♣♤♥♦♧♪♫"  # a few from Miscellaneous Symbols; the rest of it is emoji-like

# --------------------------------------------------------------------------------------------
# character classes (mirroring what BertNormalizer + BertPreTokenizer do)


def is_cjk_char(ch: str) -> bool:
    """True for the characters BERT splits out one by one (CJK ideographs)."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def _is_bert_punctuation(ch: str) -> bool:
    """BertPreTokenizer isolates these: all ASCII non-alphanumerics and Unicode P* characters."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _normalizes_to_itself(ch: str) -> bool:
    """Would BertNormalizer (lowercase, strip accents) leave `ch` as it is? Only such characters are
    worth a vocabulary entry: the tokenizer never looks up the others."""
    if unicodedata.category(ch)[0] in "CZM":  # controls, spaces, marks: removed or split on
        return False
    lowered = ch.lower()
    stripped = "".join(c for c in unicodedata.normalize("NFD", lowered) if unicodedata.category(c) != "Mn")
    return stripped == ch


# --------------------------------------------------------------------------------------------
# building the offline Chinese vocabulary


def _cache_root() -> Path:
    return Path(os.environ.get("BERTLAB_CACHE") or Path.home() / ".cache" / "bertlab").expanduser()


def _jieba_sources() -> tuple[Path, Path]:
    import jieba

    base = Path(jieba.__file__).resolve().parent
    return base / "dict.txt", base / "finalseg" / "prob_emit.py"


def _english_vocab_file() -> Path | None:
    """bert-base-uncased's vocab.txt from the default English model's wheel, when installed."""
    try:
        from ..modeling.wheel import wheel_model_dir

        path = wheel_model_dir() / "vocab.txt"
        return path if path.exists() else None
    except Exception:  # the wheel is missing: build without English word pieces
        return None


def _fingerprint() -> str:
    """Hash of the recipe and of every input file's bytes: same inputs, same folder name."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(f"recipe={RECIPE_VERSION};english={ENGLISH_PIECES};".encode())
    english = _english_vocab_file()
    for path in (*_jieba_sources(), english):
        digest.update(b"|")
        if path is not None:
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _jieba_characters() -> set[str]:
    """Every CJK character of jieba's dictionary and of its HMM emission table."""
    dict_file, _ = _jieba_sources()
    chars: set[str] = set()
    with open(dict_file, encoding="utf-8") as handle:
        for line in handle:
            chars.update(line.split(" ", 1)[0])
    # The dictionary lacks common traditional characters (灣 濟 際 訊 ...); the HMM table, trained on
    # a larger corpus, has them. Both ship with jieba, so the result is still deterministic.
    from jieba.finalseg.prob_emit import P as emission

    for table in emission.values():
        chars.update(table)
    return {ch for ch in chars if is_cjk_char(ch)}


def build_chinese_vocab() -> list[str]:
    """The vocabulary, in id order. Deterministic for a given jieba and English vocabulary."""
    vocab = ["[PAD]"] + [f"[unused{i}]" for i in range(1, 100)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    seen = set(vocab)

    def add(token: str) -> None:
        if token not in seen:
            seen.add(token)
            vocab.append(token)

    symbols = [chr(cp) for lo, hi in _SYMBOL_RANGES for cp in range(lo, hi + 1)]
    symbols += list(_EXTRA_SYMBOLS)
    symbols = [ch for ch in symbols if not is_cjk_char(ch) and _normalizes_to_itself(ch)]
    for ch in symbols:
        add(ch)
    for ch in sorted(_jieba_characters()):
        add(ch)
    # A word that is not punctuation and not CJK ("1998", "ｉｐｈｏｎｅ", "３℃") reaches WordPiece
    # whole; every such character also needs a "##" form so WordPiece can always spell it out.
    for ch in symbols:
        if not _is_bert_punctuation(ch):
            add("##" + ch)
    english = _english_vocab_file()
    if english is not None:
        lines = english.read_text(encoding="utf-8").split("\n")
        # bert-base-uncased puts its learned words after the single characters (id 1996 = "the").
        start = lines.index("the") if "the" in lines else 0
        taken = 0
        for token in lines[start:]:
            if taken >= ENGLISH_PIECES:
                break
            body = token[2:] if token.startswith("##") else token
            # Pieces holding punctuation ("...") can never come out of BertPreTokenizer: skip them.
            if body and token.isascii() and not any(_is_bert_punctuation(c) for c in body):
                if token not in seen:
                    add(token)
                    taken += 1
    return vocab


def _write_tokenizer(vocab: list[str], folder: Path) -> None:
    from transformers import BertTokenizerFast

    tokenizer = BertTokenizerFast(vocab={tok: i for i, tok in enumerate(vocab)}, do_lower_case=True,
                                  tokenize_chinese_chars=True, model_max_length=MODEL_MAX_LENGTH)
    tokenizer.save_pretrained(str(folder))
    # transformers 5 saves only tokenizer.json; vocab.txt is what BERT tooling (and people) read.
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    info = {"recipe": RECIPE_VERSION, "vocab_size": len(vocab),
            "cjk_characters": sum(1 for t in vocab if len(t) == 1 and is_cjk_char(t)),
            "english_pieces_from": str(_english_vocab_file() or "") or None,
            "jieba_sources": [str(p) for p in _jieba_sources()]}
    (folder / "bertlab_vocab.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n",
                                               encoding="utf-8")


_dir_lock = threading.Lock()


@functools.lru_cache(maxsize=4)
def _tokenizer_dir_for(root: str) -> str:
    final = Path(root) / f"chinese-vocab-{_fingerprint()}"
    if (final / "tokenizer.json").exists():
        return str(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    # Build in a private temporary folder and rename it into place: rename is atomic, so another
    # process either sees no folder or a complete one. The loser of a race drops its copy.
    tmp = Path(tempfile.mkdtemp(prefix=".chinese-vocab-tmp-", dir=final.parent))
    try:
        _write_tokenizer(build_chinese_vocab(), tmp)
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / "tokenizer.json").exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return str(final)


def chinese_tokenizer_dir() -> str:
    """Folder with the offline Chinese BERT vocabulary (vocab.txt, tokenizer.json,
    tokenizer_config.json), built on first use under $BERTLAB_CACHE (default ~/.cache/bertlab)."""
    with _dir_lock:
        return _tokenizer_dir_for(str(_cache_root().resolve()))


@functools.lru_cache(maxsize=4)
def _load_fast(folder: str):
    from transformers import BertTokenizerFast

    return BertTokenizerFast.from_pretrained(folder)


SHIPPED_CHINESE_TOKENIZER = Path(__file__).resolve().parents[1] / "assets" / "default-chinese"


def chinese_tokenizer():
    """The Chinese vocabulary as a fast (Rust) BertTokenizerFast; loaded once per process. The one
    shipped with the `default-chinese` model when present (the same vocabulary, built by
    `build_chinese_vocab` when the model was trained), else built here."""
    if (SHIPPED_CHINESE_TOKENIZER / "tokenizer.json").exists():
        return _load_fast(str(SHIPPED_CHINESE_TOKENIZER))
    return _load_fast(chinese_tokenizer_dir())


# --------------------------------------------------------------------------------------------
# jieba


@functools.lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.ERROR)  # "Building prefix dict ..." is noise for our users
    jieba.initialize()
    return jieba


def _jieba_words(text: str) -> list[str]:
    """jieba's words for whole-word masking. Without jieba (a machine that lacks it, such as the GPU
    session's: an English corpus holds a few Chinese lines) each character is its own word, as BERT's
    original Chinese masking had it; said once on stderr."""
    try:
        return _jieba().lcut(text)
    except ImportError:
        _say_no_jieba()
        return list(text)


@functools.lru_cache(maxsize=1)
def _say_no_jieba() -> None:
    import sys

    print("bertlab: jieba is not installed: whole-word masking treats each Chinese character as a word",
          file=sys.stderr)


def jieba_views(text: str, precise: list[str] | None = None) -> dict[str, list[str]]:
    """jieba's three modes; whitespace-only pieces are dropped (they are not words). `precise` is
    jieba.lcut(text) when the caller already has it."""
    jb = _jieba()

    def words(seq: Iterable[str]) -> list[str]:
        return [w for w in seq if w.strip()]

    return {"precise": words(precise if precise is not None else jb.lcut(text)),
            "full": words(jb.lcut(text, cut_all=True)), "search": words(jb.lcut_for_search(text))}


# --------------------------------------------------------------------------------------------
# whole-word masking


def _is_cjk_token(token: str) -> bool:
    return len(token) == 1 and is_cjk_char(token)


def wwm_word_ids(tokens: list[str], text: str | None = None, *,
                 special_tokens: Collection[str] | None = None,
                 words: list[str] | None = None) -> list[int]:
    """A word index per token for whole-word masking; -1 for special tokens.

    English: a `##` piece continues the previous word. Chinese: consecutive single-character CJK
    tokens that lie in one jieba word (precise mode) share an index, as in Chinese-BERT-wwm.
    `text` is the text the tokens came from; jieba then segments it in context. Without it, each
    run of Chinese tokens is segmented on its own. `words` (jieba's precise words of `text`) skips
    re-segmenting when the caller already has them.
    """
    specials = NON_MASKABLE if special_tokens is None else frozenset(special_tokens)
    n = len(tokens)
    runs: list[tuple[int, int]] = []  # [start, end) of each run of CJK character tokens
    i = 0
    while i < n:
        if _is_cjk_token(tokens[i]):
            j = i
            while j < n and _is_cjk_token(tokens[j]):
                j += 1
            runs.append((i, j))
            i = j
        else:
            i += 1
    if runs:
        if text is None:
            # Newlines keep jieba from joining two runs that were apart in the token sequence.
            text = "\n".join("".join(tokens[a:b]) for a, b in runs)
            words = None
        if words is None:
            words = _jieba_words(text)
        # The text's CJK characters in order, each with the index of the jieba word it lies in.
        cjk_chars, cjk_word = [], []
        for w_index, word in enumerate(words):
            for ch in word:
                if is_cjk_char(ch):
                    cjk_chars.append(ch)
                    cjk_word.append(w_index)
        cjk_text = "".join(cjk_chars)
    ids = [-1] * n
    word = -1
    cursor = 0
    run_at = {a: b for a, b in runs}
    i = 0
    while i < n:
        token = tokens[i]
        if i in run_at:
            end = run_at[i]
            chunk = "".join(tokens[i:end])
            found = cjk_text.find(chunk, cursor)
            if found >= 0:
                owners = cjk_word[found:found + len(chunk)]
                cursor = found + len(chunk)
            else:
                # Tokens that do not match the text (normalised characters, tokens from elsewhere):
                # segment this run by itself.
                owners, k = [], 0
                for w in _jieba_words(chunk):
                    owners.extend([k] * len(w))
                    k += 1
            for k in range(len(chunk)):
                if k == 0 or owners[k] != owners[k - 1]:
                    word += 1
                ids[i + k] = word
            i = end
            continue
        if token in specials:
            ids[i] = -1
        elif token.startswith("##") and i > 0 and ids[i - 1] >= 0:
            ids[i] = ids[i - 1]
        else:
            word += 1
            ids[i] = word
        i += 1
    return ids


def wwm_groups(word_ids: list[int]) -> list[list[int]]:
    """Token positions grouped by word index (the units whole-word masking picks)."""
    groups: dict[int, list[int]] = {}
    for pos, wid in enumerate(word_ids):
        if wid >= 0:
            groups.setdefault(wid, []).append(pos)
    return [groups[k] for k in sorted(groups)]


def masking_example(groups: list[list[int]], seed: int, rate: float = MASK_RATE) -> dict[str, Any]:
    """Which positions BERT-style masking would pick, by whole words and by single tokens.

    Both use the same budget (rate × maskable tokens, at least 1). Whole-word masking shuffles the
    words and takes each one that still fits the budget, as Google's create_pretraining_data does;
    so that the demo always shows something, it takes the first word when none fits.
    """
    positions = [p for g in groups for p in g]
    budget = max(1, round(len(positions) * rate)) if positions else 0
    rng = random.Random(seed)
    plain = sorted(rng.sample(positions, budget)) if budget else []
    rng = random.Random(seed)
    order = groups[:]
    rng.shuffle(order)
    chosen: list[list[int]] = []
    used = 0
    for group in order:
        if used + len(group) <= budget:
            chosen.append(group)
            used += len(group)
    if not chosen and order:
        chosen.append(order[0])
    whole = sorted(p for g in chosen for p in g)
    return {"seed": seed, "rate": rate, "budget": budget, "whole_word": whole,
            "whole_word_groups": sorted(chosen), "plain": plain}


# --------------------------------------------------------------------------------------------
# the tokenization view


def _check_text(text: Any, what: str) -> None:
    if not isinstance(text, str):
        raise BadInput(f"{what} must be a string, got {type(text).__name__}")
    if not text.strip():
        raise BadInput(f"{what} is empty: type some text to tokenize")
    for pos, ch in enumerate(text):
        if ch not in "\t\n\r" and unicodedata.category(ch) == "Cc":
            raise BadInput(f"{what} has a control character U+{ord(ch):04X} at position {pos} "
                           f"(after {text[max(0, pos - 10):pos]!r}); remove it")


def tokenize_view(text: str, pair: str | None = None, tokenizer=None, max_length: int | None = None,
                  seed: int = 0, padding: bool = False) -> dict[str, Any]:
    """What BERT (and jieba) make of `text` (and an optional second sentence `pair`).

    Offsets are [start, end] character offsets into the text their token came from:
    `sequence_ids[i]` is 0 for the text, 1 for `pair`, None for special and padding tokens
    (whose offsets are [0, 0]). `unk` lists the original characters of each [UNK] token (a whole
    word when WordPiece could not spell it), `unk_rate` is [UNK] tokens / non-special tokens.
    `wwm_groups` are the token positions whole-word masking treats as one; `wwm_example` says which
    positions 15% masking with `seed` picks by whole words and by single tokens. `max_length`
    truncates (longest sequence first) and, with `padding`, pads to that length. Raises BadInput for
    empty text or control characters; text longer than MAX_VIEW_CHARS is cut with a notice.
    """
    notices: list[str] = []
    _check_text(text, "text")
    # The seed travels back in the JSON view, where a browser reads numbers as doubles.
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise BadInput(f"the masking seed must be a whole number from 0 to {MAX_SEED:,}, not {seed!r}"[:200])
    if isinstance(pair, str) and not pair.strip():
        pair = None  # an empty second box means "no second sentence"
    if pair is not None:
        _check_text(pair, "second sentence")
    if len(text) > MAX_VIEW_CHARS:
        notices.append(f"text cut from {len(text):,} to the first {MAX_VIEW_CHARS:,} characters")
        text = text[:MAX_VIEW_CHARS]
    if pair is not None and len(pair) > MAX_VIEW_CHARS:
        notices.append(f"second sentence cut from {len(pair):,} to the first {MAX_VIEW_CHARS:,} characters")
        pair = pair[:MAX_VIEW_CHARS]
    tokenizer = tokenizer if tokenizer is not None else chinese_tokenizer()
    if not getattr(tokenizer, "is_fast", False):
        raise BadInput("this model has only a slow (Python) tokenizer; the view needs a fast one for "
                       "character offsets")
    n_special = tokenizer.num_special_tokens_to_add(pair=pair is not None)
    if max_length is not None:
        try:
            max_length = int(max_length)
        except (TypeError, ValueError):
            raise BadInput(f"max length must be a whole number, got {max_length!r}") from None
        if max_length <= 0:
            max_length = None  # 0 / empty in the page means "no limit"
    if max_length is not None:
        least = n_special + (2 if pair is not None else 1)
        if max_length < least:
            raise BadInput(f"max length {max_length} is too small: {n_special} special tokens plus at "
                           f"least one token per sentence need {least}")
        if max_length > MAX_VIEW_LENGTH:
            raise BadInput(f"max length {max_length} is too large; this view goes up to {MAX_VIEW_LENGTH} "
                           f"(BERT models read at most {MODEL_MAX_LENGTH})")

    def encode(**kwargs):
        return tokenizer(text, pair, return_offsets_mapping=True, return_token_type_ids=True,
                         return_attention_mask=True, verbose=False, **kwargs)

    enc = encode()
    full_length = len(enc["input_ids"])
    truncated = max_length is not None and full_length > max_length
    if max_length is not None and (truncated or padding):
        enc = encode(truncation="longest_first" if truncated else False, max_length=max_length,
                     padding="max_length" if padding else False)
    if truncated:
        notices.append(f"truncated from {full_length} to {max_length} tokens "
                       "(the longer sentence loses tokens first)")
    elif max_length is None and full_length > MODEL_MAX_LENGTH:
        notices.append(f"{full_length} tokens: BERT models read at most {MODEL_MAX_LENGTH}; set a max "
                       "length to see truncation")

    ids = list(enc["input_ids"])
    tokens = tokenizer.convert_ids_to_tokens(ids)
    offsets = [list(o) for o in enc["offset_mapping"]]
    sequence_ids = enc.sequence_ids(0)
    type_ids = list(enc.get("token_type_ids") or [0] * len(ids))
    mask = list(enc["attention_mask"])
    sources = (text, pair)

    unk_id = tokenizer.unk_token_id
    unk = [sources[s][a:b] for tid, s, (a, b) in zip(ids, sequence_ids, offsets)
           if unk_id is not None and tid == unk_id and s is not None]
    content = sum(1 for s in sequence_ids if s is not None)

    # jieba's precise words, whitespace kept, serve both the word lists and whole-word masking
    # (which lines tokens up with the text through them).
    jb = _jieba()
    precise = jb.lcut(text)
    pair_precise = jb.lcut(pair) if pair is not None else []
    views = jieba_views(text, precise)
    pair_views = jieba_views(pair, pair_precise) if pair is not None else None
    # The two sentences are joined by a newline, which jieba never joins across.
    context = text if pair is None else text + "\n" + pair
    words = precise if pair is None else precise + ["\n"] + pair_precise
    specials = set(tokenizer.all_special_tokens) - {tokenizer.unk_token}
    word_ids = wwm_word_ids(tokens, context, special_tokens=specials | NON_MASKABLE, words=words)
    groups = wwm_groups(word_ids)
    example = masking_example(groups, seed)
    example["whole_word_words"] = [_span_text(g, sequence_ids, offsets, sources, tokens)
                                   for g in example["whole_word_groups"]]

    return {
        "tokens": tokens,
        "input_ids": ids,
        "token_type_ids": type_ids,
        "attention_mask": mask,
        "offsets": offsets,
        "sequence_ids": sequence_ids,
        "unk": unk,
        "unk_rate": round(len(unk) / content, 4) if content else 0.0,
        "jieba": views["precise"],
        "jieba_full": views["full"],
        "jieba_search": views["search"],
        "pair_jieba": pair_views,
        "wwm_word_ids": word_ids,
        "wwm_groups": groups,
        "wwm_example": example,
        "counts": {"characters": len(text), "pair_characters": len(pair) if pair is not None else 0,
                   "tokens": sum(mask), "text_tokens": content, "padding": len(mask) - sum(mask),
                   "special_tokens": sum(mask) - content, "jieba_words": len(views["precise"]),
                   "pair_jieba_words": len(pair_views["precise"]) if pair_views else 0},
        "truncated": truncated,
        "max_length": max_length,
        "notices": notices,
    }


def _span_text(group: list[int], sequence_ids, offsets, sources, tokens) -> str:
    """The original characters a group of tokens covers (its first to last offset)."""
    seq = sequence_ids[group[0]]
    if seq is None:
        return "".join(tokens[p] for p in group)
    return sources[seq][offsets[group[0]][0]:offsets[group[-1]][1]]


# --------------------------------------------------------------------------------------------
# training a WordPiece vocabulary


def train_wordpiece(files: list[str] | None, vocab_size: int, lowercase: bool, out_dir: str,
                    texts: Iterable[str] | None = None):
    """Train a BERT WordPiece vocabulary on text files (or an iterator of strings) and save it in
    `out_dir` as a transformers fast tokenizer (vocab.txt, tokenizer.json, tokenizer_config.json).

    The pipeline is BERT's: BertNormalizer (Chinese characters split one by one, optional
    lowercasing and accent stripping), BertPreTokenizer, WordPiece with `##` continuations, the
    five special tokens at ids 0-4, and the [CLS] A [SEP] (B [SEP]) template.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertTokenizerFast

    try:
        vocab_size = int(vocab_size)
    except (TypeError, ValueError):
        raise BadInput(f"vocabulary size must be a whole number, got {vocab_size!r}") from None
    if vocab_size < len(SPECIAL_TOKENS) + 1:
        raise BadInput(f"vocabulary size {vocab_size} is too small (the five special tokens alone take 5)")
    if (files is None) == (texts is None):
        raise BadInput("give either text files or texts to train a vocabulary on")
    if files is not None:
        files = [str(f) for f in files]
        if not files:
            raise BadInput("no text files given to train a vocabulary on")
        for path in files:
            if not Path(path).is_file():
                raise DataError("file not found (training text for the vocabulary)", path=path)
            if Path(path).stat().st_size == 0:
                raise DataError("file is empty (training text for the vocabulary)", path=path)

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", continuing_subword_prefix="##"))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                strip_accents=None, lowercase=bool(lowercase))
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                        continuing_subword_prefix="##", show_progress=False)
    if files is not None:
        tok.train(files, trainer)
    else:
        tok.train_from_iterator(texts, trainer)
    if tok.get_vocab_size() <= len(SPECIAL_TOKENS):
        raise BadInput("the training text has no words: the vocabulary would hold only special tokens")
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    vocab = tok.get_vocab()
    ordered = sorted(vocab, key=vocab.get)
    # BertTokenizerFast rebuilds the same pipeline from the vocabulary; keeping the trained object
    # instead (tokenizer_object=) would lose the class name that AutoTokenizer keys on.
    fast = BertTokenizerFast(vocab=vocab, do_lower_case=bool(lowercase), tokenize_chinese_chars=True,
                             model_max_length=MODEL_MAX_LENGTH)
    fast.save_pretrained(str(out))
    (out / "vocab.txt").write_text("\n".join(ordered) + "\n", encoding="utf-8")
    return fast
