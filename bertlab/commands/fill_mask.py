"""`python -m bertlab fill-mask`: predict the masked words of a sentence.

    python -m bertlab fill-mask "The capital of France is [MASK]."
    python -m bertlab fill-mask --input-file sentences.txt --json > answers.jsonl

With --input-file every line is one text; the model is loaded once and each line gets one JSON
object (or one table) in input order. A line that fails gets {"line": n, "error": "..."} and the
run goes on; the exit code is then 2, so scripts notice that some input was bad.
"""

from __future__ import annotations

import sys

HELP = "predict masked tokens ([MASK]) in a sentence with a masked-LM"


def add_arguments(parser):
    parser.add_argument("text", nargs="?", help='a sentence with [MASK] where a word is missing')
    parser.add_argument("--input-file", metavar="F", help="one text per line (UTF-8)")
    parser.add_argument("--model", default=None,
                        help="default, default-chinese, a local save_pretrained folder, a run id, or a hub id "
                             "(default: auto = default-chinese for mostly-Chinese text, else default)")
    parser.add_argument("--top-k", type=int, default=5, help="candidates per mask (default 5)")
    parser.add_argument("--targets", default=None,
                        help="comma-separated words: score only these (a word of several pieces "
                             "is scored by its first piece)")
    parser.add_argument("--json", action="store_true",
                        help='print {"masks": [{"position", "candidates": [{"token", "score"}]}], '
                             '"filled"} (one object per line with --input-file)')


def run(args) -> int:
    from ..cli import print_json
    from ..errors import BadInput, DataError

    if (args.text is None) == (args.input_file is None):
        raise BadInput("give either a TEXT or --input-file F (not both, not neither)")
    texts: list[str]
    if args.input_file is not None:
        try:
            with open(args.input_file, encoding="utf-8") as handle:
                texts = handle.read().splitlines()
        except FileNotFoundError:
            raise DataError("no such file", path=args.input_file) from None
        except UnicodeDecodeError as exc:
            raise DataError(f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                            path=args.input_file) from None
        except OSError as exc:
            raise DataError(exc.strerror or str(exc), path=args.input_file) from None
    else:
        texts = [args.text]
    targets = [t for t in args.targets.split(",") if t.strip()] if args.targets else None

    from transformers.utils import logging as hf_logging

    from ..inference.fast_inference import load_for_answers
    from ..inference.fill_mask import fill_mask
    from ..modeling.registry import default_for, with_language_hint

    hf_logging.disable_progress_bar()  # "Loading weights" bars would clutter every answer
    # Once, for every line; with no --model, the default for the language of the input as a whole.
    name = default_for("fill-mask", "\n".join(texts), args.model)
    loaded = load_for_answers(name, "masked-lm", "fill-mask")
    failed = 0
    for number, text in enumerate(texts, start=1):
        where = f"line {number}: " if args.input_file else ""
        try:
            result = fill_mask(text, loaded, top_k=args.top_k, targets=targets, joint=True,
                               attention=False)
            with_language_hint(result, loaded.tokenizer, text, "fill-mask")
        except BadInput as exc:
            if not args.input_file:
                raise
            failed += 1
            if args.json:
                print_json({"line": number, "error": str(exc)})
            else:
                print(f"{where}error: {exc}", file=sys.stderr)
            continue
        if args.json:
            result.pop("attention", None)
            print_json({"line": number, **result} if args.input_file else result)
        else:
            print(format_table(result, header=f"{where}{text}" if args.input_file else None))
    return 2 if failed else 0


def format_table(result: dict, header: str | None = None) -> str:
    """A plain-text view: one block per mask (rank, token, probability, bar), then the fills."""
    lines = [header] if header else []
    for number, mask in enumerate(result["masks"], start=1):
        lines.append(f"mask {number} (token {mask['position']})")
        width = max((len(c["token"]) for c in mask["candidates"]), default=5)
        for rank, cand in enumerate(mask["candidates"], start=1):
            bar = "#" * max(1, round(cand["score"] * 30)) if cand["score"] >= 0.005 else ""
            lines.append(f"  {rank:>2}. {cand['token']:<{width}}  {cand['score']:.4f}  {bar}")
    lines.append(f"filled: {result['filled']}")
    if result.get("model"):
        lines.append(f"model:  {result['model']}")
    joint = result.get("joint")
    if joint and len(result["masks"]) > 1:
        lines.append(f"joint:  {joint['filled']}  (filled in order "
                     + ", ".join(str(i + 1) for i in joint["order"]) + ")")
    for notice in result.get("notices") or []:
        lines.append(f"note: {notice}")
    return "\n".join(lines) + ("\n" if header else "")
