"""What pre-training bought: a Chinese BERT pre-trained by bertlab vs. the same model untrained vs. TF-IDF.

Reports, from one script run:
  * masked-LM accuracy against training time of the pre-training run (its events.jsonl: held-out
    examples with fixed masks at every evaluation, and the training accuracy logged just before);
  * ChnSentiCorp dev accuracy of three classifiers trained on the same training rows:
      - the pre-trained model, fine-tuned;
      - the same architecture and vocabulary, randomly initialised, fine-tuned identically
        (the gap to the row above is what pre-training bought);
      - a character 1-3-gram TF-IDF + logistic regression baseline (C chosen by 5-fold
        cross-validation on the training rows only; the dev set is used once, for the score).

    python benchmarks/chinese_pipeline.py --pretrained runs/chinese-pipeline-full/pretrain
    python benchmarks/chinese_pipeline.py --threads 1                 # pre-train here first (the example's --full recipe)
    python benchmarks/chinese_pipeline.py --quick                    # a small slice, minutes

Needs ../shared/data (People's Daily, ChnSentiCorp); without it the script says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples"))

import chinese_pipeline as cp  # noqa: E402  (examples/chinese_pipeline.py: the chain's steps)


def tfidf_baseline(train_rows, dev_rows, seed: int = 0) -> dict:
    """Character 1-3-gram TF-IDF + logistic regression, regularisation chosen by CV on train only."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegressionCV

    t0 = time.time()
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
    x_train = vectorizer.fit_transform([t for t, _ in train_rows])
    x_dev = vectorizer.transform([t for t, _ in dev_rows])
    y_train = [label for _, label in train_rows]
    y_dev = [label for _, label in dev_rows]
    clf = LogisticRegressionCV(Cs=[1.0, 4.0, 10.0, 30.0], cv=5, max_iter=3000, scoring="accuracy",
                               random_state=seed)
    with warnings.catch_warnings():
        # scikit-learn 1.8 announces changes of LogisticRegressionCV defaults; the values used here
        # (accuracy scoring, L2) are set explicitly or are the same before and after.
        warnings.simplefilter("ignore", FutureWarning)
        clf.fit(x_train, y_train)
    predicted = clf.predict(x_dev)
    accuracy = sum(p == y for p, y in zip(predicted, y_dev)) / len(y_dev)
    return {"accuracy": accuracy, "C": float(clf.C_[0]), "features": x_train.shape[1],
            "minutes": (time.time() - t0) / 60}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pretrained", help="a finished pre-training run folder (events.jsonl + final/); "
                                        "default: pre-train one here first")
    p.add_argument("--quick", action="store_true", help="small slice sizes (as the example's default run)")
    p.add_argument("--data-dir", default=None, help=f"shared data folder (default {cp.DEFAULT_DATA})")
    p.add_argument("--work", default=None, help="work folder (default runs/chinese-benchmark[-quick])")
    p.add_argument("--preset", choices=["tiny", "mini", "small", "base"], help="size preset when pre-training here")
    p.add_argument("--pretrain-steps", type=int, help="pre-training steps when pre-training here")
    p.add_argument("--pretrain-minutes", type=float, help="pre-training time budget when pre-training here")
    p.add_argument("--train-rows", type=int, help="ChnSentiCorp training rows (0 = all 9,600)")
    p.add_argument("--epochs", type=float, help="fine-tuning epochs (both models)")
    p.add_argument("--lr", type=float, help="fine-tuning learning rate (both models)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, help="torch CPU threads (1 is fastest on a busy 2-core machine)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    paths = cp.find_data(args.data_dir)
    if paths is None:
        why = f"People's Daily and ChnSentiCorp not found under {args.data_dir or cp.DEFAULT_DATA}"
        # With --json the skip is itself JSON, the shape `python -m benchmarks` reads.
        print(json.dumps({"skipped": why}) if args.json else f"skipped: {why}")
        return 0
    import transformers

    from bertlab.modeling.registry import runs_root

    transformers.logging.set_verbosity_error()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    sizes = cp.Sizes(**cp.SIZES["slice" if args.quick else "full"].__dict__)
    for flag, field in (("preset", "preset"), ("pretrain_steps", "pretrain_steps"),
                        ("pretrain_minutes", "pretrain_minutes"), ("train_rows", "train_rows"),
                        ("epochs", "finetune_epochs"), ("lr", "finetune_lr")):
        if getattr(args, flag) is not None:
            setattr(sizes, field, getattr(args, flag))
    work = Path(args.work) if args.work else runs_root() / ("chinese-benchmark-quick" if args.quick else "chinese-benchmark")
    work.mkdir(parents=True, exist_ok=True)
    data = cp.prepare_data(paths, work, sizes)
    show = not args.quiet

    # 1. the pre-trained model: given, or made here with the example's recipe
    if args.pretrained:
        pt_dir = Path(args.pretrained)
        if not (pt_dir / "events.jsonl").exists() or not (pt_dir / "final" / "config.json").exists():
            print(f"error: {pt_dir} is not a finished pre-training run (needs events.jsonl and final/)", file=sys.stderr)
            return 2
    else:
        pt_dir = work / "pretrain"
        cp.build_vocabulary([data["corpus"]], work / "vocab", sizes.vocab_size)
        print(f"pre-training preset {sizes.preset} for up to {sizes.pretrain_steps} steps / "
              f"{sizes.pretrain_minutes:g} min", flush=True)
        cp.pretrain(work / "vocab", [data["corpus"]], pt_dir, preset=sizes.preset, max_steps=sizes.pretrain_steps,
                    max_minutes=sizes.pretrain_minutes, batch_size=sizes.pretrain_batch, lr=sizes.pretrain_lr,
                    seq_len=sizes.seq_len, eval_every=sizes.eval_every, seed=args.seed, show_progress=show,
                    on_event=cp.progress_printer("pre-train"))
    curve = cp.mlm_curve(pt_dir)
    pt_config = json.loads((pt_dir / "final" / "config.json").read_text(encoding="utf-8"))

    # 2. the same fine-tuning from the pre-trained and from a random initialisation
    finetuned = {}
    random_dir = cp.random_init_copy(pt_dir / "final", work / "random-init", seed=args.seed)
    for name, model in (("pre-trained", pt_dir / "final"), ("random init", random_dir)):
        print(f"fine-tuning the {name} model: {data['train_rows']:,} rows, {sizes.finetune_epochs:g} epochs, "
              f"lr {sizes.finetune_lr:g}", flush=True)
        r = cp.finetune(model, data["train"], data["dev"], work / ("finetune-" + name.replace(" ", "-")),
                        epochs=sizes.finetune_epochs, batch_size=sizes.finetune_batch, lr=sizes.finetune_lr,
                        max_length=sizes.max_length, seed=args.seed, show_progress=show,
                        on_event=cp.progress_printer(name))
        finetuned[name] = {"accuracy": r["eval_accuracy"], "f1": r.get("eval_f1"), "steps": r["step"],
                           "minutes": r["elapsed_s"] / 60}

    # 3. the classical baseline on the same rows
    train_rows = cp.balanced_head(cp.read_chnsenticorp(paths["train"]), sizes.train_rows)
    dev_rows = cp.balanced_head(cp.read_chnsenticorp(paths["dev"]), sizes.dev_rows)
    tfidf = tfidf_baseline(train_rows, dev_rows, seed=args.seed)

    result = {
        "pretrained_run": str(pt_dir),
        "model": {"layers": pt_config["num_hidden_layers"], "hidden": pt_config["hidden_size"],
                  "vocab_size": pt_config["vocab_size"]},
        "mlm_curve": curve,
        "dev": {"pre-trained, fine-tuned": finetuned["pre-trained"],
                "random init, fine-tuned": finetuned["random init"],
                "char 1-3-gram TF-IDF + LR": tfidf},
        "pretraining_gain": finetuned["pre-trained"]["accuracy"] - finetuned["random init"]["accuracy"],
        "train_rows": len(train_rows), "dev_rows": len(dev_rows),
        "finetune": {"epochs": sizes.finetune_epochs, "lr": sizes.finetune_lr, "batch_size": sizes.finetune_batch,
                     "max_length": sizes.max_length},
    }
    (work / "benchmark_results.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    if args.json:
        print(json.dumps(result, ensure_ascii=False))  # one line: the last JSON line of stdout is the result
        return 0
    m = result["model"]
    print(f"\nMasked-LM accuracy against training time ({m['layers']} layers x {m['hidden']}, vocabulary "
          f"{m['vocab_size']:,}; {pt_dir})")
    print(f"{'minutes':>8} {'step':>6} {'eval MLM acc':>13} {'train MLM acc':>14} {'tokens/s':>9}")
    for row in curve:
        train_acc = f"{row['train_mlm_accuracy']:.3f}" if row["train_mlm_accuracy"] is not None else "-"
        tps = f"{row['tokens_per_s']:.0f}" if row["tokens_per_s"] else "-"
        print(f"{row['minutes']:>8.1f} {row['step']:>6} {row['eval_mlm_accuracy']:>13.3f} {train_acc:>14} {tps:>9}")
    print(f"\nChnSentiCorp dev accuracy ({len(dev_rows):,} rows; trained on {len(train_rows):,} rows)")
    print(f"{'classifier':<28} {'dev acc':>8} {'minutes':>8}")
    for name, row in result["dev"].items():
        print(f"{name:<28} {row['accuracy']:>8.4f} {row['minutes']:>8.1f}")
    print(f"\npre-training bought {result['pretraining_gain'] * 100:+.1f} points of dev accuracy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
