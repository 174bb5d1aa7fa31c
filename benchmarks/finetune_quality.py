"""Fine-tuning quality on public sets: what the default model reaches with bertlab's engine.

Each task fine-tunes the embedded default (or --model) with `bertlab.training.engine.train`, the same call
the CLI and the page make, and reports the validation/test figures the engine computes (through
the project's own `evaluate` metric modules) with the steps and minutes it took.

    python benchmarks/finetune_quality.py                       # every task (about an hour on 2 cores)
    python benchmarks/finetune_quality.py --only sst2-10min trec6 mrpc
    python benchmarks/finetune_quality.py --json

Tasks (data from ../shared/data, see SOURCES.md there; skipped when it is absent):
  sst2-full   SST-2 train (67,349 sentences) -> dev (872); 2 epochs
  sst2-10min  the same with a 10-minute budget (--max-minutes 10)
  trec6       TREC question types, 6 coarse classes: 5,452 train -> 500 test
  agnews      AG News, 4 topics: a 10,000-row train subset -> the first 2,000 test rows
  mrpc        MRPC paraphrase pairs: 4,076 train -> 1,725 test (the raw Microsoft files, as uploaded)
  rte         RTE entailment pairs: 2,490 train -> 277 dev

The files are read as a user would upload them; only TREC (a "LABEL:fine question" text format,
Latin-1) is rewritten to CSV first, and AG News test is cut to 2,000 rows to keep evaluation short.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks import shared_data  # noqa: E402

DATA = shared_data()

# name: (train, validation, settings). Settings are TrainConfig fields; `finetune.` ones nested.
TASKS = {
    "sst2-full": ("sst2/train.tsv", "sst2/dev.tsv",
                  dict(epochs=2, lr=5e-5, batch_size=32, eval_every=1000, max_length=66)),
    "sst2-10min": ("sst2/train.tsv", "sst2/dev.tsv",
                   dict(epochs=1, lr=1e-4, batch_size=16, eval_every=500, max_minutes=10)),
    "trec6": ("trec.train.csv", "trec.test.csv", dict(epochs=4, lr=1e-4, batch_size=16, eval_every=0)),
    "agnews": ("agnews_subset/train_subset10k.tsv", "agnews.test2000.tsv",
               dict(epochs=1, lr=1e-4, batch_size=16, eval_every=0, max_length=128)),
    "mrpc": ("mrpc/msr_paraphrase_train.txt", "mrpc/msr_paraphrase_test.txt",
             dict(epochs=3, lr=5e-5, batch_size=16, eval_every=0, max_length=128)),
    "rte": ("rte/train.tsv", "rte/dev.tsv", dict(epochs=3, lr=5e-5, batch_size=16, eval_every=0, max_length=160)),
}
# Published dev/test figures for comparison (accuracy unless noted), cited, not measured here.
REFERENCES = {
    "sst2-full": "BERT-mini 85.9, MiniLM-L6-H384 91.5 (distilled), BERT-base 92.7; TF-IDF + LR 82",
    "sst2-10min": "target 0.85 on 2 CPU cores",
    "mrpc": "BERT-base F1 88.9 (GLUE test, BERT paper)",
    "rte": "BERT-base 66.4 (GLUE test, BERT paper)",
}


def prepare(work: Path) -> None:
    """The two files that need a rewrite (see the module docstring)."""
    for split, name in (("train_5500.label", "trec.train.csv"), ("TREC_10.label", "trec.test.csv")):
        with open(work / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["question", "type"])
            for line in (DATA / "trec" / split).read_text(encoding="latin-1").splitlines():
                label, _, question = line.partition(" ")
                writer.writerow([question.strip(), label.split(":")[0]])
    rows = (DATA / "agnews_subset" / "test.tsv").read_text(encoding="utf-8").splitlines()[:2000]
    (work / "agnews.test2000.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def run_task(name: str, model: str, work: Path, quiet: bool) -> dict:
    from bertlab.config import FinetuneConfig, TrainConfig
    from bertlab.training.engine import train

    train_file, validation_file, settings = TASKS[name]
    settings = dict(settings)
    path = lambda f: str(work / f) if (work / f).exists() else str(DATA / f)
    data = FinetuneConfig(train=path(train_file), validation=path(validation_file),
                          max_length=settings.pop("max_length", 128))
    config = TrainConfig(task="finetune", model=model, out=str(work / f"run-{name}"), warmup=0.1,
                         log_every=50, finetune=data, **settings)
    start = time.time()
    results = train(config, show_progress=not quiet)
    keep = ("eval_accuracy", "eval_f1", "eval_f1_macro", "eval_roc_auc", "eval_n", "step", "elapsed_s")
    row = {"task": name, "model": model or "default", **{k: results.get(k) for k in keep},
           "wall_s": round(time.time() - start, 1), "settings": TASKS[name][2],
           "reference": REFERENCES.get(name, "")}
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=list(TASKS), help="tasks to run (default: all)")
    parser.add_argument("--model", default="", help="model to fine-tune (default: the embedded default)")
    parser.add_argument("--keep", help="keep the run folders here instead of a temporary folder")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not DATA.exists():
        print(json.dumps({"skipped": f"{DATA} not found"}) if args.json else f"skipped: {DATA} not found")
        return 0
    tasks = args.only or list(TASKS)
    with tempfile.TemporaryDirectory(prefix="bertlab-quality-") as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        prepare(work)
        rows = []
        for name in tasks:
            rows.append(run_task(name, args.model, work, quiet=args.json))
            if not args.json:
                print(json.dumps(rows[-1]), flush=True)
    if args.json:
        print(json.dumps(rows))
    else:
        print(f"\n{'task':12} {'accuracy':>9} {'F1':>7} {'macro F1':>9} {'steps':>7} {'minutes':>8}  reference")
        for r in rows:
            f1 = f"{r['eval_f1']:.4f}" if r.get("eval_f1") is not None else "-"
            print(f"{r['task']:12} {r['eval_accuracy']:9.4f} {f1:>7} {r['eval_f1_macro']:9.4f} "
                  f"{r['step']:7d} {r['elapsed_s'] / 60:8.1f}  {r['reference']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
