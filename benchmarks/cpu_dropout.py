"""Training steps on the CPU with bertlab's dropout masks (modeling.fast_dropout) against PyTorch's own
(`bernoulli_`), the rest of the engine the same: what the 16-bit masks are worth to a run.

    python benchmarks/cpu_dropout.py [--task pretrain|finetune] [--steps 30] [--rounds 2] [--json]

Each side is its own process running `bertlab.training.engine.train` on the `default` model (pre-training:
masked-LM on examples/data/corpus_en.txt, 32 sequences of 64 tokens, whole-word masking, the word embeddings
fixed but the [MASK] row, as the English default's stages trained; fine-tuning: examples/data/sentiment_en.csv,
batches of 16). The "bernoulli" side turns fast_dropout.install into a no-op, so its model keeps nn.Dropout and
SDPA. The first 5 steps are not timed; the sides alternate, `--rounds` times, each keeping its best round.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # no shadowing of stdlib names
sys.path.insert(0, str(ROOT))

WARM = 5


def side(task: str, steps: int, dropout: str, out: str) -> float:
    """Child process: ms per engine step after the first WARM steps."""
    from bertlab.config import FinetuneConfig, PretrainConfig, TrainConfig
    from bertlab.modeling import fast_dropout
    from bertlab.training.engine import train

    if dropout == "bernoulli":
        fast_dropout.install = lambda model: 0
    marks = {}

    def on_event(event):
        if event.get("type") == "train" and event["step"] in (WARM, WARM + steps):
            marks[event["step"]] = time.perf_counter()

    common = dict(model="default", out=out, max_steps=WARM + steps, log_every=1, eval_every=100_000, seed=1)
    if task == "pretrain":
        config = TrainConfig(task="pretrain", batch_size=32, lr=1e-4, word_embeddings="mask-row", **common,
                             pretrain=PretrainConfig(corpus=[str(ROOT / "examples/data/corpus_en.txt")],
                                                     max_seq_length=64, nsp=False, wwm=True))
    else:
        config = TrainConfig(task="finetune", batch_size=16, lr=5e-5, **common,
                             finetune=FinetuneConfig(train=str(ROOT / "examples/data/sentiment_en.csv")))
    train(config, on_event=on_event, show_progress=False)
    return (marks[WARM + steps] - marks[WARM]) / steps * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=("pretrain", "finetune"), default="pretrain")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per side (after 5 untimed)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--side", choices=("fast", "bernoulli"), help=argparse.SUPPRESS)  # child mode
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        print(f"MS {side(args.task, args.steps, args.side, args.out):.3f}")
        return 0
    import torch

    times: dict[str, list[float]] = {"fast": [], "bernoulli": []}
    with tempfile.TemporaryDirectory(prefix="bertlab-dropout-") as tmp:
        for rnd in range(args.rounds):
            order = ["fast", "bernoulli"] if rnd % 2 == 0 else ["bernoulli", "fast"]
            for name in order:
                done = subprocess.run([sys.executable, __file__, "--side", name, "--task", args.task, "--steps",
                                       str(args.steps), "--out", f"{tmp}/{name}-{rnd}"], cwd=ROOT, capture_output=True,
                                      text=True)
                line = [x for x in done.stdout.splitlines() if x.startswith("MS ")]
                if done.returncode or not line:
                    raise SystemExit(f"{name}: exit {done.returncode}\n{done.stderr[-3000:]}")
                times[name].append(float(line[0].split()[1]))
    best = {name: min(values) for name, values in times.items()}
    result = {"task": args.task, "steps": args.steps, "rounds": args.rounds, "ms_per_step": times,
              "best_ms_per_step": best, "speedup": best["bernoulli"] / best["fast"],
              "torch_threads": torch.get_num_threads()}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.task}: fast masks {best['fast']:.1f} ms/step, bernoulli_ {best['bernoulli']:.1f} ms/step "
              f"(best of {args.rounds}; each: {times}); speed-up {result['speedup']:.3f}x, torch threads "
              f"{result['torch_threads']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
