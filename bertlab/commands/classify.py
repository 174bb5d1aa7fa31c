"""python -m bertlab classify --model DIR ("TEXT" [--pair "TEXT"] [--explain [--target LABEL]] | --input-file F
[--output out.csv]) [--json]"""

from __future__ import annotations

HELP = "classify a text (or text pair), or every row of a file, with a fine-tuned model"


def add_arguments(parser):
    parser.add_argument("text", nargs="?", help="the text to classify")
    parser.add_argument("--pair", help="second text, for sentence-pair models")
    parser.add_argument("--model", default=None, help="fine-tuned model: a run, a folder, a hub id "
                        "(default: auto = default-sentiment-chinese for mostly-Chinese text, "
                        "else default-sentiment)")
    parser.add_argument("--input-file", help="CSV/TSV/JSONL/JSON or plain text (one per line) to classify")
    parser.add_argument("--text-column", default="", help="text column of --input-file (default: detected)")
    parser.add_argument("--text-pair-column", default="-", help="pair column of --input-file")
    parser.add_argument("--output", help="write predictions as CSV here")
    parser.add_argument("--explain", action="store_true",
                        help="also say which words made the prediction (integrated gradients; with a TEXT)")
    parser.add_argument("--target", default=None, help="with --explain: the label to explain (default: the predicted one)")
    parser.add_argument("--json", action="store_true")


def run(args) -> int:
    from ..cli import print_json
    from ..errors import BadInput
    from ..inference.classify import classify, classify_table
    from ..data.labeled import read_to_classify
    from ..inference.fast_inference import load_for_answers
    from ..modeling.registry import default_for, inference_device, load_model, with_language_hint

    if bool(args.text) == bool(args.input_file):
        raise BadInput('give either a TEXT or --input-file F')
    if (args.explain or args.target) and not args.text:
        raise BadInput("--explain works on one TEXT, not on --input-file")
    if args.text:
        name = default_for("classify", args.text, args.model)
        # --explain differentiates through the PyTorch model; a plain answer may come from the export.
        loaded = (load_model(name, head="classification", task="classify", device=inference_device()) if args.explain
                  else load_for_answers(name, "classification", "classify"))
        result = with_language_hint(classify(args.text, loaded, pair=args.pair), loaded.tokenizer, args.text,
                                    "classify")
        if args.explain:
            from ..inference.explain import explain

            result["explanation"] = explain(args.text, loaded, pair=args.pair, target=args.target)
        if args.json:
            print_json(result)
        else:
            for item in result["scores"]:
                print(f"{item['label']:20} {item['score']:.4f}")
            print(f"model: {result['model']}")
            if args.explain:
                found = result["explanation"]
                print(f"why {found['target']} (+ for, - against):")
                for word in sorted(found["words"], key=lambda w: -abs(w["score"]))[:10]:
                    print(f"  {word['score']:+.4f}  {word['text']}")
            for notice in result.get("notices") or []:
                print(f"note: {notice}")
        return 0
    # No model named: the default for the language of the file's texts.
    found = read_to_classify(args.input_file, args.text_column, args.text_pair_column)
    loaded = load_for_answers(default_for("classify", "\n".join(found.texts[:200]), args.model),
                              "classification", "classify")
    result = classify_table(found, loaded, args.output)
    if args.json:
        for row in result["rows"]:
            print_json(row)
    elif args.output:
        print(f"wrote {result['n']} predictions to {args.output}")
    else:
        for row, text in zip(result["rows"], result["texts"]):
            print(f"{row[result['label_key']]}\t{row[result['score_key']]:.4f}\t{text[:80]}")
    return 0
