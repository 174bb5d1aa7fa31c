"""Fine-tuning throughput: bertlab's engine against transformers.Trainer, same model, data and
hyperparameters, in one invocation; and the achieved FLOP/s against a matmul measured alongside.

    python benchmarks/finetune_throughput.py [--steps 32] [--batch-size 16] [--rounds 2] [--grouped] [--json]

Contenders (each in its own process, all alive at once and taking turns one optimizer step at a
time, so a load spike from other programs on a shared machine hits every contender alike):
  * bertlab       -- bertlab.training.engine.train on a finetune config (dynamic padding + length grouping;
                     the word embeddings updated row by row, the engine's default on one process)
  * bertlab-dense -- the same with embedding_updates="dense" (AdamW over the whole word-embedding matrix;
                     with --dense-engine: what the row-sparse update is worth, and what it does to accuracy)
  * trainer-dyn   -- Trainer with DataCollatorWithPadding (dynamic padding, random batches)
  * trainer-128   -- Trainer with every example padded to 128 tokens (run_glue's default)
  * trainer-group -- Trainer with dynamic padding and train_sampling_strategy="group_by_length"
    (with --grouped: shows how much of bertlab's lead is length grouping alone)
All start from the same weights (the `default` encoder + a new classifier head seeded alike),
train on the first --rows SST-2 training rows (default: exactly one epoch of --steps x
--batch-size, so all see the same samples) for --steps optimizer steps of --batch-size with
the same learning rate, warm-up (10% linear), weight decay (0.01), clipping (1.0) and max length
(128). A contender's time is the sum of its turns over all N steps: a turn runs from being
handed the baton to the end of its next optimizer step (the engine's train event, Trainer's
on_step_end), so data loading and per-step bookkeeping count. All steps, because with one epoch
every contender then trains on exactly the same samples (Trainer's length grouping puts its
longest batch first; leaving step 1 out would favour it); step 1's one-time allocations are in
everyone's time alike. Loading, tokenisation and the final evaluation/saving are outside it. The engine logs every step here (log_every=1) so that
each step ends with an event; writing one events.jsonl line is well under a millisecond.
Accuracy: every trained model is scored by the same code on the SST-2 dev set.

FLOP/s = 6 * N * T / t, where N = non-embedding parameters (embedding lookups are not matmuls),
T = tokens the model computed in the window (padding included: the work the hardware did; the
"useful" figure counts only real tokens) and t the window's seconds. 6 = 2 (multiply-add) * 3
(forward + backward's two matmuls per weight). Attention's T^2 term is left out (~5% at 128
tokens for this model). The peak is a 1024x1024 fp32 matmul, best of several, measured inside
every contender's process after the race. With a GPU, everyone trains there as the engine does
(bf16 where supported) and the reference is an 8192^2 bf16 matmul on it (run on an H200 on
2026-11-30: benchmarks/RESULTS.md; examples/gpu_session/ says how).

SST-2 is not part of bertlab: without ../shared/data/sst2 the benchmark says so and exits 0.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
# Run as a script this folder is first on sys.path, and its tokenize.py would shadow the stdlib's.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))
from benchmarks import shared_data  # noqa: E402

DATA = shared_data()
CONTENDERS = ("bertlab", "bertlab-dense", "trainer-dyn", "trainer-128", "trainer-group")
MAX_LENGTH = 128
SEED = 42


# ------------------------------------------------------------------------------ shared pieces


def read_sst2(path: Path, limit: int) -> list[tuple[str, int]]:
    rows = []
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)  # header: sentence, label
        for sentence, label in reader:
            rows.append((sentence.strip(), int(label)))
            if len(rows) >= limit:
                break
    return rows


def on_gpu() -> bool:
    """Where the contenders train: the engine takes a GPU when there is one (bf16 where supported),
    so the Trainer contenders and the matmul reference follow it there."""
    import torch

    return torch.cuda.is_available()


def sync() -> None:
    if on_gpu():
        import torch

        torch.cuda.synchronize()  # GPU work is asynchronous: time it when it has finished


def matmul_flops(n: int = 1024, repeats: int = 8) -> float:
    """Best FLOP/s of an n x n matmul (2 n^3 FLOPs) in this process: fp32 on the CPU's torch
    threads, or bf16 on the GPU (n = 8192 there, so the kernel is not too small to fill it)."""
    import torch

    device, dtype = ("cuda", torch.bfloat16) if on_gpu() else ("cpu", torch.float32)
    n = 8192 if device == "cuda" else n
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    torch.mm(a, b)  # first call picks the kernel
    sync()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        sync()
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best


def non_embedding_parameters(model) -> int:
    return sum(p.numel() for name, p in model.named_parameters() if "embeddings" not in name)


def accuracy(model, tokenizer, rows: list[tuple[str, int]], id_to_int) -> float:
    """Dev accuracy, the same code for every contender (batches of similar length, no grad)."""
    import torch

    model.eval()
    order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]))
    correct = 0
    with torch.no_grad():
        for start in range(0, len(order), 64):
            chunk = [rows[i] for i in order[start:start + 64]]
            enc = tokenizer([t for t, _ in chunk], truncation=True, max_length=MAX_LENGTH, padding=True,
                            return_tensors="pt").to(model.device)  # Trainer leaves its model on the GPU
            predicted = model(**enc).logits.argmax(-1).tolist()
            correct += sum(id_to_int(p) == label for p, (_, label) in zip(predicted, chunk))
    return correct / max(len(rows), 1)


class Baton:
    """Child side of the turn-taking: "BATON ..." lines on stdout to the parent, "go" lines back on
    stdin. Without BERTLAB_BENCH_BATON in the environment (a contender run by hand) it only times."""

    def __init__(self, last_step: int):
        self.enabled = os.environ.get("BERTLAB_BENCH_BATON") == "1"
        self.last_step = last_step
        self.turn_start = None
        self.step_seconds: dict[int, float] = {}

    def _send(self, message: str) -> None:
        sys.stdout.write(f"BATON {message}\n")
        sys.stdout.flush()

    def _wait(self) -> None:
        if self.enabled and not sys.stdin.readline():
            raise SystemExit("the benchmark's parent process went away")
        self.turn_start = time.perf_counter()

    def ready(self) -> None:
        """Called before the first batch: set up, now wait for the first turn."""
        if self.enabled:
            self._send("READY")
        self._wait()

    def step_end(self, step: int) -> None:
        sync()
        now = time.perf_counter()
        if self.turn_start is not None:
            self.step_seconds[step] = now - self.turn_start
        if self.enabled:
            # After the last step: wait until everyone is done, so that our evaluation and saving
            # do not run during another contender's timed turns.
            self._send("DONE" if step >= self.last_step else f"STEP {step}")
        self._wait()


class TokenCounter:
    """Wraps a collate function and records (real tokens, computed tokens) per batch, in order."""

    def __init__(self, collate, on_first=None):
        self.collate = collate
        self.on_first = on_first
        self.batches: list[tuple[int, int]] = []

    def __call__(self, features):
        if not self.batches and self.on_first is not None:
            self.on_first()  # the first training batch: set-up is over
        batch = self.collate(features)
        mask = batch["attention_mask"]
        self.batches.append((int(mask.sum()), int(mask.numel())))
        return batch

    def window(self, steps: int) -> tuple[int, int]:
        """Tokens of the batches of steps 1..steps (one batch per step; batches collated ahead are
        not counted)."""
        chosen = self.batches[:steps]
        return sum(r for r, _ in chosen), sum(c for _, c in chosen)


# ------------------------------------------------------------------------------ contenders


def run_bertlab(args, train_rows, dev_rows, work: Path, baton: Baton, embedding_updates: str = "auto") -> dict:
    from bertlab.config import FinetuneConfig, TrainConfig
    from bertlab.training.engine import train
    from bertlab.training.tasks import classification

    train_file, val_file = work / "train.tsv", work / "validation.tsv"
    for path, rows in ((train_file, train_rows), (val_file, dev_rows[:64])):
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t")
            writer.writerow(["sentence", "label"])
            writer.writerows(rows)
    counter_holder = {}
    original = classification.ClassificationTask.collate_train

    def counted(self, features):  # instrumentation only: the engine's own collate, counted
        counter = counter_holder.setdefault("c", TokenCounter(lambda f: original(self, f), baton.ready))
        return counter(features)

    classification.ClassificationTask.collate_train = counted

    def on_event(event):
        if event.get("type") == "train":
            baton.step_end(event["step"])

    config = TrainConfig(task="finetune", model="default", out=str(work / "run"), max_steps=args.steps,
                         batch_size=args.batch_size, lr=args.lr, warmup=0.1, weight_decay=0.01,
                         max_grad_norm=1.0, seed=args.seed, log_every=1, embedding_updates=embedding_updates,
                         eval_every=args.steps + 1,  # no evaluation inside the timed steps
                         finetune=FinetuneConfig(train=str(train_file), validation=str(val_file),
                                                 max_length=MAX_LENGTH))
    train(config, on_event=on_event, show_progress=False)
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    final = Path(config.out) / "final"
    model = AutoModelForSequenceClassification.from_pretrained(final)
    tokenizer = AutoTokenizer.from_pretrained(final)
    id2label = model.config.id2label
    acc = accuracy(model, tokenizer, dev_rows, lambda i: int(id2label[i]))
    return {"counter": counter_holder["c"], "accuracy": acc, "model": model}


def run_trainer(args, train_rows, dev_rows, work: Path, variant: str, baton: Baton) -> dict:
    from transformers import (DataCollatorWithPadding, Trainer, TrainerCallback, TrainingArguments,
                              default_data_collator)
    from transformers.trainer_utils import set_seed

    from bertlab.modeling.registry import load_model

    set_seed(args.seed)
    loaded = load_model("default", head="classification", task="finetune", allow_new_head=True, num_labels=2,
                        id2label={0: "0", 1: "1"}, label2id={"0": 0, "1": 1}, ignore_mismatched_sizes=True)
    tokenizer, model = loaded.tokenizer, loaded.model
    padded = variant == "trainer-128"
    enc = tokenizer([t for t, _ in train_rows], truncation=True, max_length=MAX_LENGTH,
                    padding="max_length" if padded else False)
    dataset = [{**{k: enc[k][i] for k in enc}, "labels": label} for i, (_, label) in enumerate(train_rows)]
    # run_glue's collators: default_data_collator for data padded to max_length, else dynamic padding
    collate = TokenCounter(default_data_collator if padded else DataCollatorWithPadding(tokenizer), baton.ready)

    class Turns(TrainerCallback):
        def on_step_end(self, targs, state, control, **kwargs):
            baton.step_end(state.global_step)

    targs = TrainingArguments(
        output_dir=str(work / "trainer"), per_device_train_batch_size=args.batch_size, learning_rate=args.lr,
        max_steps=args.steps, warmup_steps=0.1, weight_decay=0.01, max_grad_norm=1.0, seed=args.seed,
        save_strategy="no", eval_strategy="no", logging_steps=10, report_to="none", disable_tqdm=True,
        use_cpu=not on_gpu(), bf16=on_gpu() and __import__("torch").cuda.is_bf16_supported(),
        dataloader_num_workers=0,
        train_sampling_strategy="group_by_length" if variant == "trainer-group" else "random")
    trainer = Trainer(model=model, args=targs, train_dataset=dataset, data_collator=collate, callbacks=[Turns()])
    trainer.train()
    acc = accuracy(trainer.model, tokenizer, dev_rows, int)
    return {"counter": collate, "accuracy": acc, "model": trainer.model}


def contender_main(args) -> int:
    """Child process: train one contender, print one JSON line with its figures."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(ROOT))
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    train_rows = read_sst2(DATA / "sst2" / "train.tsv", args.rows)
    dev_rows = read_sst2(DATA / "sst2" / "dev.tsv", args.eval_rows)
    baton = Baton(args.steps)
    with tempfile.TemporaryDirectory(prefix="bertlab-bench-") as tmp:
        if args.contender in ("bertlab", "bertlab-dense"):
            out = run_bertlab(args, train_rows, dev_rows, Path(tmp), baton,
                              "dense" if args.contender == "bertlab-dense" else "auto")
        else:
            out = run_trainer(args, train_rows, dev_rows, Path(tmp), args.contender, baton)
    peak = matmul_flops()
    timed = [baton.step_seconds.get(step) for step in range(1, args.steps + 1)]
    if None in timed:
        raise SystemExit(f"{args.contender}: steps without a time: {sorted(baton.step_seconds)}")
    seconds = sum(timed)
    real, computed = out["counter"].window(args.steps)
    n = non_embedding_parameters(out["model"])
    result = {"contender": args.contender, "steps_timed": len(timed), "seconds": seconds,
              "samples_per_s": len(timed) * args.batch_size / seconds, "real_tokens_per_s": real / seconds,
              "real_tokens": real, "computed_tokens": computed, "padding_share": 1 - real / max(computed, 1),
              "non_embedding_params": n, "flops": 6 * n * computed / seconds,
              "useful_flops": 6 * n * real / seconds, "matmul_flops": peak, "accuracy": out["accuracy"],
              "matmul": "bf16 8192^3 on the GPU" if on_gpu() else "fp32 1024^3 on the CPU",
              "eval_rows": len(dev_rows), "torch_threads": torch.get_num_threads(),
              # peak resident memory of this contender's whole process (Linux: KiB)
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    print("RESULT " + json.dumps(result))
    return 0


# ------------------------------------------------------------------------------ the race


class Contender:
    """Parent side: one child process, spoken to line by line."""

    def __init__(self, args, name: str, log_dir: Path):
        self.name = name
        self.stderr = open(log_dir / f"{name}.stderr", "w+")
        cmd = [sys.executable, str(Path(__file__).resolve()), "--contender", name, "--rows", str(args.rows),
               "--steps", str(args.steps), "--batch-size", str(args.batch_size), "--lr", str(args.lr),
               "--eval-rows", str(args.eval_rows), "--seed", str(args.seed)]
        env = dict(os.environ, BERTLAB_BENCH_BATON="1", HF_HUB_OFFLINE=os.environ.get("HF_HUB_OFFLINE", "1"))
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True, bufsize=1)

    def read(self) -> str:
        """The next BATON or RESULT message (anything else the child prints is passed over)."""
        for line in self.proc.stdout:
            if line.startswith(("BATON ", "RESULT ")):
                return line.strip()
        self.proc.wait()
        self.stderr.seek(0)
        raise SystemExit(f"{self.name} ended (exit {self.proc.returncode}) before finishing:\n"
                         f"{self.stderr.read()[-4000:]}")

    def go(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.stderr.close()


def race(args, names: list[str]) -> list[dict]:
    """Start the contenders one after another (set-up alone, so initialisation draws the same
    random numbers), then hand the baton round: one optimizer step each, in turn."""
    results = []
    with tempfile.TemporaryDirectory(prefix="bertlab-race-") as logs:
        contenders = []
        try:
            for name in names:
                if not args.json:
                    print(f"  setting up {name} ...", file=sys.stderr, flush=True)
                c = Contender(args, name, Path(logs))
                contenders.append(c)
                if c.read() != "BATON READY":
                    raise SystemExit(f"{name}: unexpected first message")
            if not args.json:
                print(f"  racing {', '.join(names)}: {args.steps} steps each, one at a time in turn ...",
                      file=sys.stderr, flush=True)
            running = list(contenders)
            while running:
                for c in list(running):
                    c.go()
                    message = c.read()
                    if message == "BATON DONE":
                        running.remove(c)
                    elif not message.startswith("BATON STEP"):
                        raise SystemExit(f"{c.name}: unexpected message {message[:80]!r}")
            for c in contenders:  # evaluation and saving, one at a time
                c.go()
                message = c.read()
                if not message.startswith("RESULT "):
                    raise SystemExit(f"{c.name}: unexpected message {message[:80]!r}")
                results.append(json.loads(message[len("RESULT "):]))
                c.proc.wait()
        finally:
            for c in contenders:
                c.close()
    return results


def summarize(results: list[dict]) -> dict:
    """Per contender: the best round's throughput, the mean accuracy; ratios against the Trainer
    baselines and the matmul."""
    by: dict[str, list[dict]] = {}
    for r in results:
        by.setdefault(r["contender"], []).append(r)
    peak = max(r["matmul_flops"] for r in results)
    table = {}
    for name, rs in by.items():
        best = max(rs, key=lambda r: r["samples_per_s"])
        table[name] = {**best, "accuracy": sum(r["accuracy"] for r in rs) / len(rs), "rounds": len(rs),
                       "accuracies": [r["accuracy"] for r in rs], "samples_per_s_each": [r["samples_per_s"] for r in rs],
                       "share_of_matmul": best["flops"] / peak}
    ratios = {}
    for base in ("trainer-dyn", "trainer-128", "trainer-group", "bertlab-dense"):
        if "bertlab" in table and base in table:
            ratios[f"bertlab/{base}"] = table["bertlab"]["samples_per_s"] / table[base]["samples_per_s"]
            # Round by round (same seed, same load): the spread says how much one figure can be trusted.
            each = [a / b for a, b in zip(table["bertlab"]["samples_per_s_each"], table[base]["samples_per_s_each"])]
            ratios[f"bertlab/{base} each round"] = [round(r, 3) for r in each]
    return {"contenders": table, "ratios": ratios, "matmul_flops": peak, "matmul": results[0]["matmul"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=0,
                        help="first N SST-2 training rows (default steps x batch size: one epoch, so every "
                             "contender trains on the same samples)")
    parser.add_argument("--steps", type=int, default=32, help="optimizer steps per contender (default 32)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--eval-rows", type=int, default=872, help="SST-2 dev rows for accuracy (default all 872)")
    parser.add_argument("--rounds", type=int, default=1, help="races (the starting order rotates); each "
                        "contender keeps its best round")
    parser.add_argument("--grouped", action="store_true", help="add Trainer with group_by_length sampling")
    parser.add_argument("--dense-engine", action="store_true", help="add the engine with the dense word-embedding "
                        "update (embedding_updates=dense)")
    parser.add_argument("--skip-128", action="store_true", help="leave out Trainer padding to 128 (the slow one)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"seed of the head and data order (default {SEED})")
    parser.add_argument("--vary-seed", action="store_true", help="round r uses seed + r - 1: accuracy over "
                        "several seeds (the mean is reported, each round's in 'accuracies')")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--contender", choices=CONTENDERS, help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    args.rows = args.rows or args.steps * args.batch_size
    if args.rows < args.batch_size:
        parser.error("--rows must be at least --batch-size")

    if not (DATA / "sst2" / "train.tsv").exists():
        message = f"skipped: {DATA / 'sst2'} not found (SST-2 is not part of bertlab)"
        print(json.dumps({"skipped": message}) if args.json else message)
        return 0
    if args.contender:
        return contender_main(args)

    names = ["bertlab", "trainer-dyn"] + ([] if args.skip_128 else ["trainer-128"]) + \
        (["trainer-group"] if args.grouped else []) + (["bertlab-dense"] if args.dense_engine else [])
    results = []
    seeds = [args.seed + rnd if args.vary_seed else args.seed for rnd in range(args.rounds)]
    for rnd, args.seed in enumerate(seeds):
        order = names[rnd % len(names):] + names[:rnd % len(names)]  # rotate who goes first
        if not args.json:
            print(f"round {rnd + 1} of {args.rounds}", file=sys.stderr, flush=True)
        results.extend(race(args, order))
    summary = summarize(results)
    summary["settings"] = {"rows": args.rows, "steps": args.steps, "batch_size": args.batch_size, "lr": args.lr,
                           "max_length": MAX_LENGTH, "rounds": args.rounds, "model": "default",
                           "seeds": seeds}
    if args.json:
        print(json.dumps(summary))
        return 0
    s = summary["settings"]
    print(f"SST-2 first {s['rows']} rows, {s['steps']} steps x batch {s['batch_size']}, lr {s['lr']:g}, "
          f"max length {MAX_LENGTH}, model default; best of {args.rounds} round(s)")
    print(f"{'contender':14} {'samples/s':>9} {'tokens/s':>9} {'pad %':>6} {'GFLOP/s':>8} {'useful':>8} "
          f"{'of matmul':>9} {'dev acc':>8} {'peak MiB':>9}")
    for name, r in summary["contenders"].items():
        print(f"{name:14} {r['samples_per_s']:9.1f} {r['real_tokens_per_s']:9.0f} {100 * r['padding_share']:6.1f} "
              f"{r['flops'] / 1e9:8.1f} {r['useful_flops'] / 1e9:8.1f} {100 * r['share_of_matmul']:8.1f}% "
              f"{r['accuracy']:8.3f} {r['peak_rss_mb']:9.0f}")
    print(f"matmul ({summary['matmul']}): {summary['matmul_flops'] / 1e9:.1f} GFLOP/s (best, same run)")
    for key, value in summary["ratios"].items():
        if isinstance(value, list):
            print(f"ratio {key}: " + ", ".join(f"{v:.2f}x" for v in value))
            continue
        print(f"ratio {key}: {value:.2f}x" + ("  (target >= 1.5x)" if key == "bertlab/trainer-dyn" else ""))
    print("FLOP/s = 6 x non-embedding params x tokens computed (padding included) / seconds; "
          "'useful' counts real tokens only. Both are the model's nominal FLOPs: bertlab computes the last layer "
          "for the [CLS] row only (bertlab.modeling.first_token), ~14% fewer on this 6-layer model")
    return 0


if __name__ == "__main__":
    sys.exit(main())
