"""bertlab's commands under `accelerate launch --multi_gpu --num_processes 2` on a CPU (gloo).

Two CPU processes form one process group (the engine builds `Accelerator(cpu=True)` without a
GPU). What a user relies on: only the main process writes the run folder (no duplicated event
lines, one `final/`, one checkpoint), `run_config.json` says `num_processes: 2`, and two processes
with batch B train the same model as one process with batch 2B.

Fine-tuning is compared exactly: without dropout and with length grouping off, the two processes
see the halves of the single process's batches (accelerate hands out the sampler's batches round
robin), so the weights agree to float rounding. Pre-training masks each batch with fresh random
numbers, and a half batch draws different ones than the whole, so there the two runs are compared
on one fixed masked batch: the distance between them must be small against what both learned.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bertlab.training import runs
from bertlab.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from conftest import write_tiny_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WORDS = ("the a cat dog sat on mat is very good bad movie film plot story king queen man woman "
         "happy sad day night red blue green one two three").split()


def write_labeled_csv(path: Path, n: int = 128) -> Path:
    """A learnable two-class CSV: one sentiment word among filler words."""
    import csv
    import random

    rng = random.Random(0)
    pos, neg = "good great love fun happy".split(), "bad awful hate boring sad".split()
    filler = [w for w in WORDS if w not in pos + neg]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["review", "sentiment"])
        for i in range(n):
            words = rng.sample(filler, 4) + [rng.choice(pos if i % 2 else neg)]
            rng.shuffle(words)
            writer.writerow([" ".join(words), ("negative", "positive")[i % 2]])
    return path


def _free_port() -> int:
    # Other test runs on the machine may hold torch's default port 29500.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_two(args: list[str], runs_dir: Path) -> subprocess.CompletedProcess:
    """`accelerate launch --multi_gpu --num_processes 2 -m bertlab ARGS` on the CPU."""
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_port", str(_free_port()), "-m", "bertlab", *args]
    env = dict(os.environ, HF_HUB_OFFLINE="1", BERTLAB_RUNS=str(runs_dir), TOKENIZERS_PARALLELISM="false",
               OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="",  # CPU processes even where a GPU exists
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"two-process run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return proc


def no_dropout(folder: Path) -> Path:
    """Dropout draws different random numbers in a half batch; off, the runs can agree exactly."""
    path = folder / "config.json"
    config = json.loads(path.read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    path.write_text(json.dumps(config))
    return folder


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    from bertlab.config import TrainConfig

    root = tmp_path_factory.mktemp("multiprocess")
    runs_dir = root / "runs"
    runs_dir.mkdir()
    import random

    rng = random.Random(0)
    docs = ["\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 12))) + " ." for _ in range(6))
            for _ in range(40)]
    (root / "corpus.txt").write_text("\n\n".join(docs) + "\n", encoding="utf-8")
    # Length grouping shuffles batches of the chosen size, so B and 2B would see different
    # examples per step; plain shuffling gives the 2B batch = two consecutive B batches.
    for task in ("finetune", "pretrain"):
        TrainConfig(task=task, group_by_length=False, log_every=1, warmup=0.0, eval_every=0).save(
            root / f"{task}.json")
    return {"root": root, "runs": runs_dir,
            "classifier": no_dropout(write_tiny_model(root / "tiny-base", "base")),
            "pretrained": no_dropout(write_tiny_model(root / "tiny-pt", "pretraining")),
            "csv": write_labeled_csv(root / "train.csv"), "corpus": root / "corpus.txt"}


def assert_single_writer(out: Path, steps: int) -> None:
    """The folder looks like a one-process run's: nothing written twice."""
    config = json.loads((out / "run_config.json").read_text())
    assert config["num_processes"] == 2 and config["distributed_type"] == "MULTI_CPU"
    events = runs.read_events(out)
    assert [e["step"] for e in events if e["type"] == "train"] == list(range(1, steps + 1))
    assert sum(e["type"] == "end" for e in events) == 1
    assert sum(e["type"] == "eval" for e in events) == 1
    assert json.loads((out / "results.json").read_text())["num_processes"] == 2
    assert (out / "final" / "model.safetensors").exists()
    assert [p.name for p in (out / "checkpoints").iterdir()] == [f"step-{steps}"]
    assert not list(out.glob(".final-tmp*"))
    assert json.loads((out / "status.json").read_text())["state"] == "finished"


def max_weight_difference(a: Path, b: Path) -> float:
    from safetensors.torch import load_file

    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert wa.keys() == wb.keys()
    return max((wa[k] - wb[k]).abs().max().item() for k in wa)


def test_finetune_on_two_processes_equals_one_process_with_the_same_global_batch(fixtures, monkeypatch):
    f = fixtures
    common = ["finetune", "--config", str(f["root"] / "finetune.json"), "--train", str(f["csv"]),
              "--model", str(f["classifier"]), "--max-steps", "6", "--lr", "1e-3", "--quiet",
              # one process would otherwise update the word embeddings row by row (lazy Adam), which
              # two processes cannot: the same optimizer on both sides, so the same updates
              "--embedding-updates", "dense"]
    two, one = f["root"] / "ft-two", f["root"] / "ft-one"
    launch_two(common + ["--batch-size", "8", "--out", str(two)], f["runs"])
    monkeypatch.setenv("BERTLAB_RUNS", str(f["runs"]))
    assert main(common + ["--batch-size", "16", "--out", str(one)]) == 0

    assert_single_writer(two, steps=6)
    r_two = json.loads((two / "results.json").read_text())
    r_one = json.loads((one / "results.json").read_text())
    assert r_one["num_processes"] == 1
    assert r_two["eval_n"] == r_one["eval_n"] == 13  # every validation row counted once
    assert r_two["eval_loss"] == pytest.approx(r_one["eval_loss"], abs=1e-4)
    # Same updates, so the same weights (float sums in a different order: ~1e-7 apart).
    assert max_weight_difference(two / "final", one / "final") < 1e-4
    # The logged training loss is the global batch's (both processes' halves), not the main
    # process's half: step by step it matches the one-process run's loss on the whole batch.
    losses = [[e["loss"] for e in runs.read_events(run) if e["type"] == "train"] for run in (two, one)]
    assert losses[0] == pytest.approx(losses[1], abs=1e-4)
    assert [e["train_accuracy"] for e in runs.read_events(two) if e["type"] == "train"] == \
        pytest.approx([e["train_accuracy"] for e in runs.read_events(one) if e["type"] == "train"])


def test_pretrain_on_two_processes_learns_like_one_process(fixtures, monkeypatch):
    import torch
    from transformers import AutoTokenizer, BertForPreTraining

    from bertlab.data.corpus import read_corpus
    from bertlab.training.tasks.pretraining import MaskingCollator, build_examples, pretraining_losses, tokenize_documents

    f = fixtures
    common = ["pretrain", "--config", str(f["root"] / "pretrain.json"), "--corpus", str(f["corpus"]),
              "--model", str(f["pretrained"]), "--max-steps", "8", "--lr", "2e-3", "--max-seq-length", "32",
              "--quiet"]
    two, one = f["root"] / "pt-two", f["root"] / "pt-one"
    launch_two(common + ["--batch-size", "8", "--out", str(two)], f["runs"])
    monkeypatch.setenv("BERTLAB_RUNS", str(f["runs"]))
    assert main(common + ["--batch-size", "16", "--out", str(one)]) == 0
    assert_single_writer(two, steps=8)

    # One fixed masked batch of the whole corpus scores the start and both results.
    tokenizer = AutoTokenizer.from_pretrained(f["pretrained"])
    docs = tokenize_documents(read_corpus([str(f["corpus"])]), tokenizer, wwm=False)
    examples = build_examples(docs, tokenizer, 32, nsp=True, short_seq_prob=0.1, seed=7)
    batch = MaskingCollator(tokenizer, 0.15, generator=torch.Generator().manual_seed(0))(examples)

    def loss(folder: Path) -> float:
        model = BertForPreTraining.from_pretrained(folder).eval()
        with torch.no_grad():
            return pretraining_losses(model, batch, sparse=True)["loss"].item()

    start, l_one, l_two = loss(f["pretrained"]), loss(one / "final"), loss(two / "final")
    assert l_one < start - 0.1 and l_two < start - 0.1, (start, l_one, l_two)  # both learned
    # Measured 5.890 -> 5.636 (one process) and 5.654 (two): 7% of the progress apart.
    assert abs(l_two - l_one) < 0.25 * (start - l_one), (start, l_one, l_two)
