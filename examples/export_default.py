"""Ship a finished run as one of bertlab's offline defaults: only the changed weights (int8
differences, fp16 heads), laid over the embedded encoder when the default is loaded (see
bertlab/modeling/overlay.py).

    python examples/export_default.py --run /root/bertlab-runs/default-sentiment --name default-sentiment \
        --head classification --card examples/default_sentiment/CARD.md
    python examples/export_default.py --run /root/bertlab-runs/default-mlm --name default-mlm \
        --head masked-lm --card examples/default_mlm/CARD.md
    python examples/export_default.py --run /root/bertlab-runs/default-chinese --name default-chinese \
        --head masked-lm --card examples/default_chinese/CARD.md
    python examples/export_default.py --run /root/bertlab-runs/default-sentiment-chinese \
        --name default-sentiment-chinese --head classification --card examples/default_chinese/SENTIMENT_CARD.md
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bertlab.modeling.overlay_export import export_overlay  # noqa: E402
from bertlab.training.runs import atomic_write_json, read_json  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", required=True, help="finished run folder (its final/ is exported)")
    parser.add_argument("--name", required=True, choices=["default-sentiment", "default-mlm", "default-chinese",
                                                              "default-sentiment-chinese"])
    parser.add_argument("--head", required=True, choices=["classification", "masked-lm"])
    parser.add_argument("--card", help="model card (markdown) to ship beside the weights")
    parser.add_argument("--note", default="", help="one line of figures shown in the page")
    args = parser.parse_args()
    run = Path(args.run)
    out = ROOT / "bertlab" / "assets" / args.name
    keys = ("id2label", "label2id") if args.head == "classification" else ()
    new_vocabulary = args.name == "default-chinese"
    if new_vocabulary:  # its own vocabulary: the embedding matrix's size travels, the tokenizer ships
        keys += ("vocab_size", "pad_token_id")
        out.mkdir(parents=True, exist_ok=True)
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            if (run / "final" / name).exists():
                shutil.copyfile(run / "final" / name, out / name)
        # vocab.txt too (transformers 5 saves only tokenizer.json): what BERT tooling and people read.
        vocab = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
        (out / "vocab.txt").write_text("".join(t + "\n" for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])),
                                       encoding="utf-8")
    base_default = "default-chinese" if args.name == "default-sentiment-chinese" else ""
    meta = export_overlay(run / "final", out, args.head, config_keys=keys, base_default=base_default)
    if new_vocabulary:
        # Its encoder is what fine-tuning from default-chinese starts from, whatever the head.
        meta["body_for_all_heads"] = True
    results = read_json(run / "results.json", {}) or {}
    meta.update({"metrics_note": args.note, "source_run": run.name,
                 "results": {k: v for k, v in results.items() if isinstance(v, (int, float))}})
    atomic_write_json(out / "overlay.json", meta)
    if args.card:
        (out / "README.md").write_text(Path(args.card).read_text(encoding="utf-8"), encoding="utf-8")
    print(json.dumps({k: meta[k] for k in ("tensors", "parameters", "bytes")}))


if __name__ == "__main__":
    main()
