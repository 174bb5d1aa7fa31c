"""`python -m bertlab tokenize "TEXT"`: how BERT's vocabulary and jieba split a text."""

from __future__ import annotations

HELP = "show BERT's tokens, ids, offsets, [UNK]s, jieba words and whole-word-masking groups for a text"


def add_arguments(parser):
    parser.add_argument("text", help='the text to tokenize ("-" reads it from standard input)')
    parser.add_argument("--pair", default=None, help="an optional second sentence (token type id 1)")
    parser.add_argument("--model", default="default-chinese",
                        help="tokenizer to use: default-chinese (the Chinese default model's), a local folder, a run, "
                             "or a hub id such as bert-base-chinese (default: %(default)s)")
    parser.add_argument("--max-length", type=int, default=None,
                        help="truncate to this many tokens, special tokens included")
    parser.add_argument("--pad", action="store_true", help="also pad to --max-length with [PAD]")
    parser.add_argument("--seed", type=int, default=0, help="seed of the whole-word-masking example")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")


def run(args) -> int:
    import sys

    from ..modeling import registry
    from ..cli import print_json
    from ..errors import BadInput
    from ..data.tokenization import tokenize_view

    text = sys.stdin.read() if args.text == "-" else args.text
    if args.pad and args.max_length is None:
        raise BadInput("--pad needs --max-length (the length to pad to)")
    tokenizer = registry.load_tokenizer(args.model, task="tokenize")
    view = tokenize_view(text, pair=args.pair, tokenizer=tokenizer, max_length=args.max_length,
                         seed=args.seed, padding=args.pad)
    if args.json:
        print_json(view)
    else:
        print(render_text(view, text, args.pair))
    return 0


def render_text(view: dict, text: str, pair: str | None) -> str:
    """A plain-text report: the token table, then jieba, whole-word masking and counts."""
    sources = (text, pair)
    rows = [("pos", "token", "id", "type", "mask", "span")]
    for pos, token in enumerate(view["tokens"]):
        seq = view["sequence_ids"][pos]
        start, end = view["offsets"][pos]
        span = "" if seq is None else f"{sources[seq][start:end]!r} [{start}:{end}]" + (" (pair)" if seq else "")
        rows.append((str(pos), token, str(view["input_ids"][pos]), str(view["token_type_ids"][pos]),
                     str(view["attention_mask"][pos]), span))
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(_pad(cell, w) for cell, w in zip(row[:-1], widths)) + "  " + row[-1] for row in rows]

    counts = view["counts"]
    lines.append("")
    lines.append(f"[UNK]: {len(view['unk'])} token(s), rate {view['unk_rate']:.1%}"
                 + (f" — {' '.join(view['unk'])}" if view["unk"] else ""))
    lines.append("jieba precise: " + " / ".join(view["jieba"]))
    lines.append("jieba full:    " + " / ".join(view["jieba_full"]))
    lines.append("jieba search:  " + " / ".join(view["jieba_search"]))
    if view.get("pair_jieba"):
        lines.append("pair precise:  " + " / ".join(view["pair_jieba"]["precise"]))
    tokens = view["tokens"]
    multi = [g for g in view["wwm_groups"] if len(g) > 1]
    lines.append("whole words (several tokens): " + (" ".join(_group_text(view, g, sources) for g in multi) or "none"))
    example = view["wwm_example"]
    lines.append(f"masking example (seed {example['seed']}, {example['budget']} of {counts['text_tokens']} tokens):")
    lines.append("  whole-word: " + _masked(tokens, example["whole_word"], view["sequence_ids"]))
    lines.append("  plain:      " + _masked(tokens, example["plain"], view["sequence_ids"]))
    lines.append(f"counts: {counts['characters']} characters, {counts['tokens']} tokens "
                 f"({counts['special_tokens']} special, {counts['padding']} padding), "
                 f"{counts['jieba_words']} jieba words")
    for notice in view["notices"]:
        lines.append(f"note: {notice}")
    return "\n".join(lines)


def _group_text(view: dict, group: list[int], sources) -> str:
    """The original characters a word's tokens cover."""
    seq = view["sequence_ids"][group[0]]
    return sources[seq][view["offsets"][group[0]][0]:view["offsets"][group[-1]][1]]


def _masked(tokens: list[str], positions: list[int], sequence_ids) -> str:
    chosen = set(positions)
    return " ".join("[MASK]" if i in chosen else t for i, t in enumerate(tokens)
                    if sequence_ids[i] is not None)


def _width(s: str) -> int:
    """Display width: CJK and full-width characters take two columns in a terminal."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def _pad(s: str, width: int) -> str:
    return s + " " * (width - _width(s))
