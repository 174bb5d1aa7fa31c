"""python -m bertlab evaluate --model DIR --data F [column flags] [--json]"""

from __future__ import annotations

HELP = "evaluate a fine-tuned classifier on a labeled file (accuracy, F1, precision, recall, ROC-AUC)"


def add_arguments(parser):
    parser.add_argument("--model", required=True, help="fine-tuned model: a run, a folder, or a hub id")
    parser.add_argument("--data", required=True, help="labeled CSV/TSV/JSONL/JSON file")
    parser.add_argument("--text-column", default="")
    parser.add_argument("--text-pair-column", default="")
    parser.add_argument("--label-column", default="")
    parser.add_argument("--json", action="store_true")


def run(args) -> int:
    from ..cli import print_json
    from ..inference.classify import evaluate_file
    from ..modeling.registry import inference_device, load_model

    loaded = load_model(args.model, head="classification", task="classify", device=inference_device())
    metrics = evaluate_file(args.data, loaded, args.text_column, args.text_pair_column, args.label_column)
    if args.json:
        print_json(metrics)
        return 0
    for key in ("n", "accuracy", "precision", "recall", "f1", "f1_macro", "roc_auc"):
        if metrics.get(key) is not None:
            value = metrics[key]
            print(f"{key:10} {value:.4f}" if isinstance(value, float) else f"{key:10} {value}")
    for row in metrics.get("per_class", []):
        print(f"  {row['label']:16} precision {row['precision']:.3f} recall {row['recall']:.3f} "
              f"f1 {row['f1']:.3f} support {row['support']}")
    return 0
