"""Single-sentence fill-mask latency: bertlab against transformers' pipeline("fill-mask").

Both sides use the same loaded model object, the same sentences and the same top-k, in the same
run, alternating call by call so that load on a shared machine hits both alike. bertlab runs with
attention=False, joint=False: the work the pipeline does (one pass, independent top-k per mask).

    python benchmarks/fill_mask.py                      # the English default
    python benchmarks/fill_mask.py --model runs/my-run  # any masked-LM

Until the default model ships its masked-LM head, `default` is measured as its encoder with a
freshly initialised head: answers are nonsense, timings are real (same shapes). Sentences: a fixed
built-in set, plus SST-2 dev sentences with one word masked when ../shared/data is present.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUILT_IN = [
    "The capital of France is [MASK].",
    "I went to the [MASK] to buy some milk.",
    "She was so [MASK] that she could not stop smiling.",
    "The movie was [MASK], I would not watch it again.",
    "He plays the [MASK] in a jazz band.",
    "Water boils at one hundred degrees [MASK].",
    "The [MASK] barked at the mailman all morning.",
    "After the long hike we were very [MASK].",
    "Paris is the largest [MASK] in France.",
    "The children played in the [MASK] after school.",
    "My favourite season of the year is [MASK].",
    "The meeting was moved to [MASK] afternoon.",
]


def sst2_sentences(limit: int) -> list[str]:
    """Dev sentences with their middle word masked (deterministic), if the data is at hand."""
    path = ROOT.parent / "shared" / "data" / "sst2" / "dev.tsv"
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        words = line.split("\t")[0].split()
        if 6 <= len(words) <= 30:
            words[len(words) // 2] = "[MASK]"
            out.append(" ".join(words))
        if len(out) >= limit:
            break
    return out


def load(name: str | None):
    from bertlab.errors import BadInput
    from bertlab.modeling.registry import load_model

    try:
        return load_model(name, head="masked-lm"), ""
    except BadInput as exc:
        if (name or "default") != "default":
            raise
        note = (f"note: {exc}\n      measuring the default encoder with a freshly initialised "
                "masked-LM head instead (nonsense answers, real timings)")
        return load_model(name, head="masked-lm", allow_new_head=True), note


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model name (default: the English default)")
    parser.add_argument("--rounds", type=int, default=5, help="passes over the sentences")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--sst2", type=int, default=20, help="SST-2 dev sentences to add (0: none)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's choice)")
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    import torch
    from transformers import pipeline
    from transformers.utils import logging as hf_logging

    from bertlab.inference.fill_mask import fill_mask

    hf_logging.disable_progress_bar()
    if args.threads:
        torch.set_num_threads(args.threads)
    loaded, note = load(args.model)
    if note:
        print(note)
    pipe = pipeline("fill-mask", model=loaded.model, tokenizer=loaded.tokenizer, device=-1)
    mask = loaded.tokenizer.mask_token
    sentences = BUILT_IN + sst2_sentences(args.sst2)
    sentences = [s.replace("[MASK]", mask) for s in sentences]

    def ours(text):
        return fill_mask(text, loaded, top_k=args.top_k, attention=False, joint=False)

    def theirs(text):
        return pipe(text, top_k=args.top_k)

    # Same answers first (a benchmark of two different computations would mean nothing).
    for text in sentences[:5]:
        a = [c["token_id"] for c in ours(text)["masks"][0]["candidates"]]
        b = [c["token"] for c in theirs(text)]
        if a != b and not set(b) & set(loaded.tokenizer.all_special_ids):
            print(f"warning: top-{args.top_k} differ on {text!r}: {a} vs {b}")

    for text in sentences[:3]:  # warm-up: first calls allocate and pick kernels
        ours(text), theirs(text)
    times = {"bertlab": [], "pipeline": []}
    for rnd in range(args.rounds):
        for i, text in enumerate(sentences):
            order = [("bertlab", ours), ("pipeline", theirs)]
            if (i + rnd) % 2:
                order.reverse()
            for name, fn in order:
                start = time.perf_counter()
                fn(text)
                times[name].append((time.perf_counter() - start) * 1000)

    print(f"model: {loaded.source.name}  ({type(loaded.model).__name__}, "
          f"{sum(p.numel() for p in loaded.model.parameters()) / 1e6:.1f} M parameters)")
    print(f"{len(sentences)} sentences x {args.rounds} rounds, top-k {args.top_k}, "
          f"torch threads {torch.get_num_threads()}")
    print(f"{'':10} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
    for name, values in times.items():
        print(f"{name:10} {percentile(values, 50):8.2f} {percentile(values, 95):8.2f} "
              f"{statistics.mean(values):8.2f}")
    r50 = percentile(times["bertlab"], 50) / percentile(times["pipeline"], 50)
    r95 = percentile(times["bertlab"], 95) / percentile(times["pipeline"], 95)
    print(f"ratio bertlab/pipeline: p50 {r50:.2f}x  p95 {r95:.2f}x  (target <= 0.70x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
