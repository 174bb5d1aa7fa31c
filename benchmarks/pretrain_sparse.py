"""Sparse against dense masked-LM pre-training: optimizer steps per second, same batches, same run.

    python benchmarks/pretrain_sparse.py [--models tiny default] [--steps 12] [--batch-size 16] [--json]

For each model (the `tiny` from-scratch preset, and the `default` encoder with a pre-training head)
two copies start from the same weights, each with its own AdamW. On every batch both take one full
step -- forward (bertlab.training.tasks.pretraining.pretraining_losses, sparse=True or False), backward,
optimizer step -- alternating which goes first, so load on a shared machine hits both alike.
Sparse projects only the masked positions (~15%) through the vocabulary; dense projects every
position, as transformers' BertForPreTraining does. Both use the default model's 30,522-token
vocabulary, and the first batch's losses are checked to agree (same computation, fewer rows).

Text: the project's own example corpus (examples/data/corpus_en.txt), or --corpus FILE...
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
# Run as a script this folder is first on sys.path, and its tokenize.py would shadow the stdlib's.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
DEFAULT_CORPUS = ROOT / "examples" / "data" / "corpus_en.txt"


def build_batches(tokenizer, corpus: list[str], n: int, batch_size: int, seq_len: int):
    """n masked NSP batches, masked once with a fixed seed: both sides train on exactly these."""
    import torch

    from bertlab.data.corpus import read_corpus
    from bertlab.training.tasks.pretraining import MaskingCollator, build_examples, tokenize_documents

    docs = tokenize_documents(read_corpus(corpus), tokenizer, wwm=False)
    examples = build_examples(docs, tokenizer, seq_len, nsp=True, short_seq_prob=0.1, seed=0)
    need = n * batch_size
    if len(examples) < need:
        examples = (examples * (need // max(len(examples), 1) + 1))[:need]
    collate = MaskingCollator(tokenizer, 0.15, generator=torch.Generator().manual_seed(0))
    return [collate(examples[i * batch_size:(i + 1) * batch_size]) for i in range(n)]


def make_model(name: str, tokenizer, seq_len: int):
    import torch
    from transformers import BertForPreTraining

    torch.manual_seed(0)
    if name == "default":
        from bertlab.modeling.registry import load_model

        return load_model("default", head="pretraining", task="pretrain", allow_new_head=True).model
    from bertlab.training.tasks.pretraining import preset_config

    config = preset_config(name, len(tokenizer), seq_len)
    config.pad_token_id = tokenizer.pad_token_id
    return BertForPreTraining(config)


def race(name: str, tokenizer, batches, warmup: int) -> dict:
    import torch

    from bertlab.training.tasks.pretraining import pretraining_losses

    base = make_model(name, tokenizer, batches[0]["input_ids"].shape[1])
    models = {"sparse": base, "dense": copy.deepcopy(base)}
    for m in models.values():
        m.train()
    optimizers = {k: torch.optim.AdamW(m.parameters(), lr=1e-4) for k, m in models.items()}

    # Same computation: with dropout off and the same weights both give the same loss.
    with torch.no_grad():
        base.eval()
        a = pretraining_losses(base, batches[0], sparse=True)["loss"].item()
        b = pretraining_losses(base, batches[0], sparse=False)["loss"].item()
        base.train()
    times: dict[str, list[float]] = {"sparse": [], "dense": []}
    for i, batch in enumerate(batches):
        order = ["sparse", "dense"] if i % 2 == 0 else ["dense", "sparse"]
        for kind in order:
            model, opt = models[kind], optimizers[kind]
            start = time.perf_counter()
            loss = pretraining_losses(model, batch, sparse=kind == "sparse")["loss"]
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            if i >= warmup:  # the first steps allocate and pick kernels
                times[kind].append(time.perf_counter() - start)
    masked = sum(int((b["labels"] != -100).sum()) for b in batches) / sum(b["labels"].numel() for b in batches)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"model": name, "params": sum(p.numel() for p in base.parameters()),
            "layers": base.config.num_hidden_layers, "hidden": base.config.hidden_size,
            "vocab": base.config.vocab_size, "batch_size": int(batches[0]["input_ids"].shape[0]),
            "seq_len": int(batches[0]["input_ids"].shape[1]), "masked_share": masked,
            "timed_steps": len(times["sparse"]),
            "sparse_steps_per_s": 1 / med["sparse"], "dense_steps_per_s": 1 / med["dense"],
            "speedup": med["dense"] / med["sparse"], "loss_sparse": a, "loss_dense": b,
            "loss_agrees": abs(a - b) < 1e-3 * max(1.0, abs(b))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["tiny", "default"],
                        help="presets (tiny, mini, small, base) and/or 'default' (default: tiny default)")
    parser.add_argument("--steps", type=int, default=12, help="timed steps per side and model (default 12)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed first steps (default 2)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--corpus", nargs="+", default=[str(DEFAULT_CORPUS)], help="text file(s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    missing = [c for c in args.corpus if not Path(c).exists()]
    if missing:
        message = f"skipped: corpus not found: {', '.join(missing)}"
        print(json.dumps({"skipped": message}) if args.json else message)
        return 0

    import torch
    from transformers.utils import logging as hf_logging

    from bertlab.modeling.registry import load_tokenizer

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    tokenizer = load_tokenizer("default", "pretrain")
    batches = build_batches(tokenizer, args.corpus, args.steps + args.warmup, args.batch_size, args.max_seq_length)
    rows = [race(name, tokenizer, batches, args.warmup) for name in args.models]
    summary = {"rows": rows, "torch_threads": torch.get_num_threads(), "corpus": args.corpus}
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"batch {args.batch_size} x {rows[0]['seq_len']} tokens, {rows[0]['masked_share']:.1%} of positions masked, "
          f"vocabulary {rows[0]['vocab']:,}, {args.steps} timed steps per side, torch threads {torch.get_num_threads()}")
    print(f"{'model':9} {'params':>8} {'sparse steps/s':>15} {'dense steps/s':>14} {'speed-up':>9} {'same loss':>10}")
    for r in rows:
        print(f"{r['model']:9} {r['params'] / 1e6:7.1f}M {r['sparse_steps_per_s']:15.2f} {r['dense_steps_per_s']:14.2f} "
              f"{r['speedup']:8.2f}x {'yes' if r['loss_agrees'] else 'NO':>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
