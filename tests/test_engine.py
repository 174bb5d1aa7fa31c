"""The training engine on a tiny random BERT and a learnable toy task (no data files involved):
loss falls, events carry the promised keys, final/ loads with plain transformers, resume after a
stop reproduces the uninterrupted trajectory, NaN fails the run, a stop request keeps a checkpoint."""

from __future__ import annotations

import json
import random

import pytest

from bertlab.training import runs
from bertlab.config import TrainConfig
from bertlab.training.engine import TrainingFailed, train
from bertlab.training.tasks.base import Task

POSITIVE = "good great love fun happy".split()
NEGATIVE = "bad awful hate boring sad".split()
FILLER = "the movie film plot story was very really a it".split()


class ToyClassification(Task):
    """Label = whether the sentence holds a positive word: learnable in a few dozen steps."""

    metric_for_best = ("eval_accuracy", True)

    def __init__(self, config, accelerator, model_dir, n_train=192, nan_at_step=None):
        super().__init__(config, accelerator)
        self.model_dir, self.n_train, self.nan_at_step = model_dir, n_train, nan_at_step
        self.calls = 0

    def setup(self):
        from transformers import AutoTokenizer, BertForSequenceClassification

        self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        self.model = BertForSequenceClassification.from_pretrained(self.model_dir, num_labels=2)
        rng = random.Random(0)

        def make(n):
            rows = []
            for i in range(n):
                label = i % 2
                words = rng.sample(FILLER, 4) + [rng.choice(POSITIVE if label else NEGATIVE)]
                rng.shuffle(words)
                enc = self.tokenizer(" ".join(words))
                rows.append({"input_ids": enc["input_ids"], "token_type_ids": enc["token_type_ids"],
                             "labels": label})
            return rows

        self.train_dataset, self.eval_dataset = make(self.n_train), make(64)

    def training_step(self, model, batch):
        self.calls += 1
        out = model(**batch)
        loss = out.loss
        if self.nan_at_step is not None and self.calls >= self.nan_at_step:
            loss = loss * float("nan")
        return loss, {"train_accuracy": (out.logits.argmax(-1) == batch["labels"]).float().mean().item()}

    def evaluate(self, model, loader):
        import torch

        correct = total = 0
        losses = []
        for batch in loader:
            out = model(**batch)
            logits, labels = self.accelerator.gather_for_metrics((out.logits, batch["labels"]))
            correct += (logits.argmax(-1) == labels).sum().item()
            total += len(labels)
            losses.append(torch.nn.functional.cross_entropy(logits, labels).item())
        return {"eval_loss": sum(losses) / len(losses), "eval_accuracy": correct / total}


def toy_config(out, **kw) -> TrainConfig:
    base = dict(task="finetune", out=str(out), epochs=8, batch_size=16, lr=3e-3, warmup=0.1,
                log_every=2, eval_every=12, seed=7)
    base.update(kw)
    return TrainConfig(**base)


def run_toy(config, model_dir, resume=False, **task_kw):
    from bertlab.training.engine import make_accelerator

    # The engine builds its own accelerator; the task only needs one for gather_for_metrics.
    task = ToyClassification(config, make_accelerator(config), model_dir, **task_kw)
    return train(config, task=task, resume=resume, show_progress=False)


def train_losses(folder):
    return [e["loss"] for e in runs.read_events(folder) if e.get("type") == "train"]


def test_loss_falls_events_and_final_loads_with_transformers(tmp_path, make_tiny_model):
    model_dir = make_tiny_model("base")
    out = tmp_path / "run"
    results = run_toy(toy_config(out), model_dir)

    events = runs.read_events(out)
    train_events = [e for e in events if e["type"] == "train"]
    for key in ("step", "total_steps", "epoch", "loss", "lr", "samples_per_s", "tokens_per_s",
                "elapsed_s", "eta_s", "train_accuracy"):
        assert key in train_events[-1], key
    first, last = train_events[0]["loss"], train_events[-1]["loss"]
    assert last < first * 0.5, (first, last)
    assert results["eval_accuracy"] >= 0.9
    assert any(e["type"] == "eval" and "eval_accuracy" in e for e in events)
    assert runs.read_status(out)["state"] == "finished"
    saved = json.loads((out / "run_config.json").read_text())
    assert saved["num_processes"] == 1 and saved["distributed_type"] == "NO"
    assert json.loads((out / "results.json").read_text())["step"] == results["step"]

    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(out / "final")
    model = AutoModelForSequenceClassification.from_pretrained(out / "final")
    logits = model(**tok(["the plot was great fun", "the plot was awful"], return_tensors="pt", padding=True)).logits
    assert logits.argmax(-1).tolist() == [1, 0]
    # Only the last few complete checkpoints are kept, each with its marker.
    ckpts = runs.complete_checkpoints(out)
    assert 1 <= len(ckpts) <= 2 and all((c / "COMPLETE").exists() for c in ckpts)


def test_resume_after_stop_matches_uninterrupted_run(tmp_path, make_tiny_model):
    model_dir = make_tiny_model("base")
    full = tmp_path / "full"
    run_toy(toy_config(full, epochs=2, eval_every=0, log_every=1, save_every=5), model_dir)

    part = tmp_path / "part"
    config = toy_config(part, epochs=2, eval_every=0, log_every=1, save_every=5)

    class StopAfter(ToyClassification):
        def training_step(self, model, batch):
            if self.calls == 7:  # a stop request arrives mid-run (after step 7)
                (part / "STOP").write_text("1")
            return super().training_step(model, batch)

    from bertlab.training.engine import make_accelerator

    train(config, task=StopAfter(config, make_accelerator(config), model_dir), show_progress=False)
    status = runs.read_status(part)
    assert status["state"] == "stopped"
    stopped_at = max(int(p.name.split("-")[1]) for p in runs.complete_checkpoints(part))
    assert stopped_at == 8  # ends within one step of the request, with a checkpoint there

    resumed = TrainConfig.load(part / "run_config.json")
    run_toy(resumed, model_dir, resume=True)
    assert runs.read_status(part)["state"] == "finished"
    a, b = train_losses(full), train_losses(part)
    assert len(a) == len(b)
    assert a == pytest.approx(b, rel=1e-4, abs=1e-5)


def test_nan_loss_marks_run_failed_with_advice(tmp_path, make_tiny_model):
    model_dir = make_tiny_model("base")
    out = tmp_path / "nan"
    with pytest.raises(TrainingFailed, match="lower learning rate"):
        run_toy(toy_config(out), model_dir, nan_at_step=3)
    status = runs.read_status(out)
    assert status["state"] == "failed" and "learning rate" in status["message"]


def test_time_budget_ends_cleanly_with_checkpoint(tmp_path, make_tiny_model):
    model_dir = make_tiny_model("base")
    out = tmp_path / "budget"
    run_toy(toy_config(out, epochs=200, max_minutes=0.05), model_dir)  # 3 seconds
    status = runs.read_status(out)
    assert status["state"] == "stopped" and "time budget" in status["message"]
    assert runs.complete_checkpoints(out) and (out / "final" / "config.json").exists()


def test_half_written_checkpoint_is_never_loaded(tmp_path, make_tiny_model):
    model_dir = make_tiny_model("base")
    out = tmp_path / "crash"
    run_toy(toy_config(out, epochs=1, eval_every=0, save_every=4), model_dir)
    good = runs.complete_checkpoints(out)[-1]
    # A crash mid-write leaves a folder without its COMPLETE marker: it must be ignored.
    broken = out / "checkpoints" / "step-999"
    broken.mkdir()
    (broken / "model.safetensors").write_bytes(b"garbage")
    assert runs.complete_checkpoints(out)[-1] == good


def test_report_to_tensorboard_writes_the_same_figures_as_events(tmp_path, make_tiny_model):
    """--report-to tensorboard (off by default): accelerate's tracker writes the train and eval
    figures to RUN/tensorboard/<run>/, read back here with TensorBoard's own reader and compared
    with events.jsonl step by step."""
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    model_dir = make_tiny_model("base")
    out = tmp_path / "tb-run"
    run_toy(toy_config(out, epochs=2, report_to="tensorboard"), model_dir)
    logs = list((out / "tensorboard").rglob("events.out.tfevents.*"))
    assert logs, "no TensorBoard event file"
    reader = EventAccumulator(str(logs[0].parent))
    reader.Reload()
    tags = set(reader.Tags()["scalars"])
    assert {"train/loss", "train/lr", "eval/accuracy", "eval/loss"} <= tags, tags
    events = runs.read_events(out)
    train = {e["step"]: e["loss"] for e in events if e["type"] == "train"}
    logged = {s.step: s.value for s in reader.Scalars("train/loss")}
    assert set(logged) == set(train) and all(abs(logged[k] - train[k]) < 1e-5 for k in train)
    evals = {e["step"]: e["eval_accuracy"] for e in events if e["type"] == "eval"}
    assert {s.step: round(s.value, 5) for s in reader.Scalars("eval/accuracy")} == \
        {k: round(v, 5) for k, v in evals.items()}
    # Off by default: no tracker folder.
    plain = tmp_path / "plain"
    run_toy(toy_config(plain, epochs=1), model_dir)
    assert not (plain / "tensorboard").exists()


def test_sparse_rows_clip_like_clip_grad_norm():
    """The row-sparse update's clipping: the same global norm and the same clipped gradients as
    clip_grad_norm_ on the dense model (hand-made gradients large enough to be clipped)."""
    import copy

    import torch

    from bertlab.training import embedding_rows

    torch.manual_seed(0)
    dense = torch.nn.Sequential(torch.nn.Embedding(50, 8), torch.nn.Linear(8, 3))
    sparse = copy.deepcopy(dense)
    sparse[0].sparse = True
    ids = torch.tensor([[1, 4, 4, 9], [9, 2, 1, 1]])  # repeated rows: the backward emits one entry per token
    for model in (dense, sparse):
        (model(ids).sum() * 50).backward()
    embedding_rows.coalesce_gradient(sparse[0].weight)
    assert sparse[0].weight.grad._values().shape == (4, 8)  # rows 1, 2, 4, 9 once each
    expected = torch.nn.utils.clip_grad_norm_(dense.parameters(), 1.0)
    total = embedding_rows.clip_(list(sparse[1].parameters()), sparse[0].weight, 1.0)
    assert expected > 1.0 and torch.allclose(total, expected)
    assert torch.allclose(sparse[0].weight.grad.to_dense(), dense[0].weight.grad, atol=1e-7)
    for a, b in zip(sparse[1].parameters(), dense[1].parameters()):
        assert torch.allclose(a.grad, b.grad, atol=1e-7)

    # Folded into fused AdamW (grad_scale = 1 / coefficient): the same update as clipping first.
    folded = copy.deepcopy(dense)
    folded[0].sparse = True
    (folded(ids).sum() * 50).backward()
    embedding_rows.coalesce_gradient(folded[0].weight)
    reference_opt = torch.optim.AdamW(dense[1].parameters(), lr=0.1, fused=True)
    folded_opt = torch.optim.AdamW(folded[1].parameters(), lr=0.1, fused=True)
    assert embedding_rows.fused_reads_grad_scale(folded_opt)
    total = embedding_rows.clip_(list(folded[1].parameters()), folded[0].weight, 1.0, fused_optimizer=folded_opt)
    assert torch.allclose(total, expected) and float(folded_opt.grad_scale) > 1.0
    reference_opt.step()
    folded_opt.step()
    for a, b in zip(folded[1].parameters(), dense[1].parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    assert torch.allclose(folded[0].weight.grad.to_dense(), dense[0].weight.grad, atol=1e-7)


def test_sparse_embedding_updates_leave_unused_rows_and_match_dense_accuracy(tmp_path, make_tiny_model):
    """Fine-tuning updates only the word-embedding rows its batches use (auto): rows of tokens the
    data never holds stay bit-identical, used rows move, and the toy task is learned as well as with
    the dense AdamW update. `sparse` where it cannot apply is refused with the reason."""
    import torch
    from safetensors.torch import load_file

    from bertlab.errors import BadInput

    model_dir = make_tiny_model("base")
    before = load_file(model_dir / "model.safetensors")["embeddings.word_embeddings.weight"]  # a BertModel
    results = {}
    for mode in ("auto", "dense"):
        out = tmp_path / mode
        results[mode] = run_toy(toy_config(out, epochs=4, embedding_updates=mode), model_dir)
        after = load_file(out / "final" / "model.safetensors")["bert.embeddings.word_embeddings.weight"]
        unused = (after - before).abs().sum(-1) == 0
        infos = [e.get("message", "") for e in runs.read_events(out) if e["type"] == "info"]
        if mode == "auto":
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(model_dir)
            used = {i for w in POSITIVE + NEGATIVE + FILLER for i in tok(w)["input_ids"]}
            assert unused.sum() == before.shape[0] - len(used), "only the rows of the data's tokens may move"
            assert not any(unused[i] for i in used)
            assert any("only the rows each batch uses" in m for m in infos)
        else:
            assert unused[1:].sum() == 0  # dense AdamW moves every row but [PAD]'s zeros (weight decay, momentum)
            assert not any("only the rows" in m for m in infos)
    assert results["auto"]["eval_accuracy"] >= 0.9 and results["dense"]["eval_accuracy"] >= 0.9
    # run_config.json records what "auto" chose, so a resume builds the optimizers its checkpoints hold
    assert json.loads((tmp_path / "auto" / "run_config.json").read_text())["embedding_updates"] == "sparse"

    # With gradient accumulation the rows' gradients of two micro-batches add up before the update,
    # and the rows' schedule steps with the other optimizer's (both schedulers saved alike).
    accumulated = tmp_path / "accumulated"
    result = run_toy(toy_config(accumulated, epochs=6, batch_size=8, gradient_accumulation_steps=2, save_every=6),
                     model_dir)
    assert result["eval_accuracy"] >= 0.9
    checkpoint = runs.complete_checkpoints(accumulated)[0]  # mid-run: the learning rate is not 0 yet
    schedules = [torch.load(checkpoint / name, weights_only=False) for name in ("scheduler.bin", "scheduler_1.bin")]
    assert schedules[0]["last_epoch"] == schedules[1]["last_epoch"] > 0
    assert schedules[0]["_last_lr"][0] == pytest.approx(schedules[1]["_last_lr"][0]) and schedules[1]["_last_lr"][0] > 0

    config = toy_config(tmp_path / "mlm", task="pretrain", embedding_updates="sparse")
    with pytest.raises(BadInput, match="embedding_updates=sparse does not apply.*pre-training"):
        run_toy(config, make_tiny_model("masked-lm"))


def test_run_from_before_row_sparse_updates_resumes_with_the_dense_optimizer(tmp_path, make_tiny_model):
    """A run config without a resolved embedding_updates (written before it existed, read as "auto")
    has checkpoints with one dense AdamW: resuming it must not switch to the row-sparse optimizers."""
    model_dir = make_tiny_model("base")
    out = tmp_path / "old"
    config = toy_config(out, epochs=2, eval_every=0, log_every=1, save_every=4, embedding_updates="dense")

    class StopAfter(ToyClassification):
        def training_step(self, model, batch):
            if self.calls == 5:
                (out / "STOP").write_text("1")
            return super().training_step(model, batch)

    from bertlab.training.engine import make_accelerator

    train(config, task=StopAfter(config, make_accelerator(config), model_dir), show_progress=False)
    assert runs.read_status(out)["state"] == "stopped"
    saved = json.loads((out / "run_config.json").read_text())
    del saved["embedding_updates"]  # as an older bertlab wrote it
    (out / "run_config.json").write_text(json.dumps(saved))
    run_toy(TrainConfig.load(out / "run_config.json"), model_dir, resume=True)
    assert runs.read_status(out)["state"] == "finished"
    assert json.loads((out / "run_config.json").read_text())["embedding_updates"] == "dense"
