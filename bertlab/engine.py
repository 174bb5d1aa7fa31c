"""The one training engine: `train(config, on_event=...)` runs fine-tuning and pre-training alike.

It follows the accelerate examples: one `Accelerator`, one `prepare`, `accelerator.accumulate` for
gradient accumulation, linear warm-up/decay, gradient clipping, `save_state` checkpoints. A task
object (bertlab.tasks) supplies the model, data and loss; the engine supplies everything around
them: data order, evaluation every N steps, structured events (`events.jsonl`), atomic checkpoints,
resume at the same step / data order / learning rate, stop requests, time budgets, NaN guards.

The engine never touches the UI: the page and the CLI both read `events.jsonl`.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable

from .config import TrainConfig
from .errors import BadInput
from . import runs

EventHook = Callable[[dict[str, Any]], None]


class TrainingFailed(Exception):
    """The run could not go on (NaN loss, ...); the message says what to change."""


# ------------------------------------------------------------------------------ helpers


def make_accelerator(config: TrainConfig):
    import torch
    from accelerate import Accelerator

    cuda = torch.cuda.is_available()
    precision = config.mixed_precision
    if precision == "auto":
        precision = "bf16" if cuda and torch.cuda.is_bf16_supported() else "no"
    if not cuda:
        precision = "no"  # bf16 matmuls are ~80x slower than fp32 on common CPUs
    # cpu=True without a GPU: a multi-process CPU launch (gloo) then forms one process group
    # instead of each process believing it is alone.
    return Accelerator(cpu=not cuda, mixed_precision=precision,
                       gradient_accumulation_steps=config.gradient_accumulation_steps)


class LengthGroupedBatches:
    """Batches of indices for one epoch: shuffled by (seed, epoch), then grouped so that each batch
    holds examples of similar length (dynamic padding then pads little). Deterministic, so a
    resumed run sees the same batches in the same order."""

    def __init__(self, lengths: list[int], batch_size: int, seed: int, epoch: int, group: bool):
        import torch

        generator = torch.Generator().manual_seed(seed * 1000 + epoch)
        order = torch.randperm(len(lengths), generator=generator).tolist()
        if group:
            # Sort within mega-batches of 50 batches: enough to group lengths, still random overall.
            mega = batch_size * 50
            order = [i for start in range(0, len(order), mega)
                     for i in sorted(order[start:start + mega], key=lambda i: -lengths[i])]
        batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        if group and len(batches) > 1:
            perm = torch.randperm(len(batches), generator=generator).tolist()
            batches = [batches[i] for i in perm]
        self.batches = batches

    def __iter__(self):
        return iter(self.batches)

    def __len__(self):
        return len(self.batches)


class EventLog:
    """Appends flat JSON events to events.jsonl (main process only) and calls the hook."""

    def __init__(self, folder: Path, enabled: bool, hook: EventHook | None):
        self.path = folder / "events.jsonl"
        self.enabled = enabled
        self.hook = hook

    def trim_after(self, step: int) -> None:
        """On resume: drop events logged after the checkpoint we go back to."""
        if not self.enabled or not self.path.exists():
            return
        kept = [e for e in runs.read_events(self.path.parent) if e.get("step", 0) <= step]
        runs.atomic_write_text(self.path, "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in kept))

    def emit(self, event: dict[str, Any]) -> None:
        event = {k: _plain(v) for k, v in event.items()}
        if self.enabled:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(event, ensure_ascii=False) + "\n")
        if self.hook is not None and self.enabled:
            self.hook(event)


def _plain(value):
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return round(value, 6)
    return value


class StopFlag:
    """Set by SIGTERM/SIGINT/SIGUSR1 or by a STOP file in the run folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.signalled = False
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT):
                signal.signal(sig, self._handle)

    def _handle(self, signum, frame):
        self.signalled = True

    def __call__(self) -> bool:
        return self.signalled or (self.folder / "STOP").exists()


def _save_checkpoint(accelerator, folder: Path, step: int, state: dict, keep: int) -> Path:
    """Write checkpoints/step-N atomically: a temp folder, a COMPLETE marker, then a rename.
    A folder without the marker (a crash mid-write) is never loaded and is cleaned up later."""
    root = folder / "checkpoints"
    final = root / f"step-{step}"
    tmp = root / f".tmp-step-{step}"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        root.mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()
    try:
        accelerator.save_state(str(tmp))
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            runs.atomic_write_json(tmp / "trainer_state.json", state)
            (tmp / "COMPLETE").write_text("ok\n")
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        # The partial checkpoint goes (it would fill the disk for nothing); earlier ones stay intact.
        written = _folder_bytes(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
        previous = runs.complete_checkpoints(folder)
        needed = _folder_bytes(previous[-1]) if previous else written
        free = shutil.disk_usage(root).free
        raise TrainingFailed(
            f"disk full while writing checkpoint step-{step}: a checkpoint needs about {needed / 1e6:,.1f} MB and "
            f"{free / 1e6:,.0f} MB are free on the disk of {root}; free some space (older runs, checkpoints) and "
            "resume: the earlier checkpoints are intact") from None
    if accelerator.is_main_process:
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        for old in runs.complete_checkpoints(folder)[:-max(1, keep)]:
            shutil.rmtree(old, ignore_errors=True)
        for leftover in root.glob(".tmp-step-*"):
            shutil.rmtree(leftover, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


def _folder_bytes(folder: Path) -> int:
    try:
        return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    except OSError:
        return 0


def checkpoint_problem(checkpoint: Path) -> str:
    """"" when a checkpoint looks whole, else what is wrong: its trainer_state.json must name its
    own step, and each safetensors file must hold every byte its header promises (a disk that
    filled up, or a copy cut short, leaves a file shorter than that)."""
    state, problem = runs.read_json_object(checkpoint / "trainer_state.json")
    if problem:
        return problem
    expected = checkpoint.name.removeprefix("step-")
    if not isinstance(state.get("step"), int) or str(state["step"]) != expected:
        return f"trainer_state.json says step {state.get('step')!r}, the folder step {expected}"
    for weights in sorted(checkpoint.glob("*.safetensors")):
        try:
            with open(weights, "rb") as handle:
                length = int.from_bytes(handle.read(8), "little")
                header = json.loads(handle.read(length)) if 0 < length < 100_000_000 else None
        except (OSError, ValueError):
            header = None
        if not isinstance(header, dict):
            return f"{weights.name} has no readable header"
        ends = [entry["data_offsets"][1] for name, entry in header.items()
                if name != "__metadata__" and isinstance(entry, dict) and "data_offsets" in entry]
        needed = 8 + length + max(ends, default=0)
        if weights.stat().st_size < needed:
            return f"{weights.name} is cut short ({weights.stat().st_size:,} of {needed:,} bytes)"
    return ""


def _load_intact_checkpoint(accelerator, folder: Path) -> tuple[dict, Path, list[str]]:
    """Load the newest checkpoint that is whole, falling back past damaged ones; returns
    (its trainer state, its folder, what was skipped and why)."""
    skipped = []
    for checkpoint in reversed(runs.complete_checkpoints(folder)):
        problem = checkpoint_problem(checkpoint)
        if not problem:
            try:
                accelerator.load_state(str(checkpoint))
            except Exception as exc:  # a damaged optimizer or RNG file: try the one before
                problem = f"cannot be loaded ({type(exc).__name__}: {str(exc)[:200]})"
        if not problem:
            return runs.read_json_object(checkpoint / "trainer_state.json")[0], checkpoint, skipped
        skipped.append(f"{checkpoint.name}: {problem}")
    if skipped:
        raise BadInput(f"run {folder.name} has no intact checkpoint to resume from: " + "; ".join(skipped))
    raise BadInput(f"run {folder.name} has no complete checkpoint to resume from")


def _flag_any(accelerator, value: bool) -> bool:
    """True on every process if `value` is True on any (so all processes stop together)."""
    if accelerator.num_processes == 1:
        return value
    import torch

    flag = torch.tensor([1.0 if value else 0.0], device=accelerator.device)
    return bool(accelerator.reduce(flag, reduction="sum").item() > 0)


def _sum_over_processes(accelerator, window: dict) -> dict:
    """The logging window summed over all processes (loss sums, counts, samples, tokens, task
    stats), so a logged loss or accuracy is the whole global batch's. Every process calls this at
    the same step (after _flag_any), with the same stats keys (the task returns the same ones for
    every batch)."""
    import torch

    keys = sorted(window["stats"])
    local = [window["loss"], window["n"], window["samples"], window["tokens"]] + [window["stats"][k] for k in keys]
    total = accelerator.reduce(torch.tensor(local, dtype=torch.float64, device=accelerator.device),
                               reduction="sum").tolist()
    return {**window, "loss": total[0], "n": total[1], "samples": total[2], "tokens": total[3],
            "stats": dict(zip(keys, total[4:]))}


# ------------------------------------------------------------------------------ the loop


def train(config: TrainConfig, on_event: EventHook | None = None, *, resume: bool = False,
          task=None, show_progress: bool = True) -> dict[str, Any]:
    """Train according to `config`; returns the results dict (also written to results.json).

    `resume=True` continues the run in `config.out` from its last complete checkpoint.
    `task` overrides the task built from `config.task` (tests use this for toy tasks).
    """
    import torch
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    accelerator = make_accelerator(config)
    main = accelerator.is_main_process
    config.num_processes = accelerator.num_processes
    config.distributed_type = str(accelerator.distributed_type).split(".")[-1]

    if resume:
        folder = runs.run_dir(config.out)
    elif main:
        folder = runs.prepare_run_dir(config)
    accelerator.wait_for_everyone()
    if not resume and not main:
        folder = Path(config.out) if config.out else None
        if folder is None:
            raise BadInput("multi-process runs need --out so all processes share one run folder")
    folder = Path(folder)
    config.out = str(folder)
    if main:
        config.save(folder / "run_config.json")
        (folder / "STOP").unlink(missing_ok=True)
        runs.write_status(folder, "running", "preparing data and model", pid=os.getpid(),
                          num_processes=accelerator.num_processes)

    events = EventLog(folder, main, on_event)
    stop_requested = StopFlag(folder)
    try:
        return _train(config, accelerator, folder, events, stop_requested, resume, task, show_progress,
                      torch, set_seed, tqdm, get_linear_schedule_with_warmup)
    except (BadInput, TrainingFailed) as exc:
        if main:
            _record_failure(folder, str(exc))
        raise
    except Exception as exc:
        if main:
            # The page shows this message: a state-dict mismatch lists hundreds of keys, so the
            # status keeps the start and points to the full traceback (stderr / worker.log).
            message = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                message = f"disk full ({exc.filename or folder}): free some space and resume the run"
            if len(message) > 600:
                message = message[:600] + " … (cut; the full error is in the log: worker.log for page runs)"
            _record_failure(folder, message)
        raise


def _record_failure(folder: Path, message: str) -> None:
    """Mark the run failed. On a full disk the status write itself can fail: try again once (the
    failed checkpoint was removed first), and never let it hide the error being reported."""
    for attempt in range(2):
        try:
            runs.write_status(folder, "failed", message, pid=os.getpid())
            return
        except OSError:
            time.sleep(0.2)


def _train(config, accelerator, folder, events, stop_requested, resume, task, show_progress,
           torch, set_seed, tqdm, get_linear_schedule_with_warmup):
    from .tasks import build_task

    main = accelerator.is_main_process
    # Checked before the task reads and tokenizes its data, which can take minutes.
    if config.word_embeddings not in ("train", "mask-row"):
        raise BadInput(f"word_embeddings must be 'train' or 'mask-row', not {config.word_embeddings!r}")
    set_seed(config.seed)
    task = task or build_task(config, accelerator)
    task.setup()
    model = task.model
    if config.trainable_layers >= 0:
        frozen = freeze_lower_layers(model, config.trainable_layers)
        if main:
            events.emit({"type": "info", "step": 0, "message": f"trainable: top {config.trainable_layers} "
                         f"layers and heads; {frozen:,} parameters frozen"})
    if config.word_embeddings == "mask-row":
        trained_row = train_only_mask_row(model, task.tokenizer)
        if main:
            events.emit({"type": "info", "step": 0, "message": f"word embeddings fixed except the [MASK] "
                         f"row (id {trained_row})"})
    if main:
        runs.atomic_write_json(folder / "data_summary.json", task.data_summary())
        config.save(folder / "run_config.json")  # tasks may fill in details (labels, vocab size)

    lengths = task.train_lengths()
    batches_per_epoch = math.ceil(len(lengths) / config.batch_size)
    batches_per_epoch = math.ceil(batches_per_epoch / accelerator.num_processes)
    updates_per_epoch = max(1, math.ceil(batches_per_epoch / config.gradient_accumulation_steps))
    total_steps = config.max_steps or max(1, math.ceil(updates_per_epoch * config.epochs))
    num_epochs = math.ceil(total_steps / updates_per_epoch)
    warmup_steps = int(config.warmup * total_steps) if config.warmup < 1 else int(config.warmup)

    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
    params = [p for p in model.named_parameters() if p[1].requires_grad]
    if config.word_embeddings == "mask-row":
        # Decoupled weight decay would shrink every row, not only the one that trains.
        no_decay += ("word_embeddings.weight",)
    optimizer = torch.optim.AdamW([
        {"params": [p for n, p in params if not n.endswith(no_decay)], "weight_decay": config.weight_decay},
        {"params": [p for n, p in params if n.endswith(no_decay)], "weight_decay": 0.0},
    ], lr=config.lr, fused=_fused_adamw_ok(model))
    # accelerate steps a prepared scheduler once per process per update, hence the scaling.
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup_steps * accelerator.num_processes,
                                                total_steps * accelerator.num_processes)
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)

    def loader_for(epoch: int):
        from torch.utils.data import DataLoader

        sampler = LengthGroupedBatches(lengths, config.batch_size, config.seed, epoch, config.group_by_length)
        # Its own generator: creating the iterator then draws nothing from the global RNG, which
        # a resumed run restored to the checkpoint's state (dropout and masking depend on it).
        loader = DataLoader(task.train_dataset, batch_sampler=sampler, collate_fn=task.collate_train,
                            generator=torch.Generator().manual_seed(config.seed + epoch))
        return accelerator.prepare_data_loader(loader)

    eval_loader = None
    if task.eval_dataset is not None and len(task.eval_dataset):
        from torch.utils.data import DataLoader

        order = sorted(range(len(task.eval_dataset)), key=lambda i: -task.eval_lengths()[i])
        eval_loader = accelerator.prepare_data_loader(DataLoader(
            [task.eval_dataset[i] for i in order], batch_size=config.batch_size * 2,
            collate_fn=task.collate_eval, shuffle=False))

    state = {"step": 0, "epoch": 0, "batches_done_in_epoch": 0, "best_metric": None,
             "evals_without_improvement": 0, "elapsed_before_s": 0.0}
    if resume:
        saved, checkpoint, skipped = _load_intact_checkpoint(accelerator, folder)
        state.update(saved)
        events.trim_after(state["step"])
        if main:
            resumed = {"type": "resume", "step": state["step"], "total_steps": total_steps,
                       "checkpoint": checkpoint.name}
            if skipped:
                resumed["message"] = ("resumed from the newest intact checkpoint, " + checkpoint.name + "; skipped "
                                      + "; ".join(skipped))
            events.emit(resumed)

    start_time = time.time()
    budget_s = config.max_minutes * 60 if config.max_minutes else None
    step = start_step = state["step"]
    progress = tqdm(total=total_steps, initial=step, disable=not (main and show_progress),
                    desc=f"{config.task}", dynamic_ncols=True)
    if main:
        runs.write_status(folder, "running", "training", pid=os.getpid(), total_steps=total_steps)

    window = {"loss": 0.0, "n": 0, "samples": 0, "tokens": 0, "t0": time.time(), "stats": {}}
    last_eval: dict[str, Any] = {}
    end_reason = "finished"
    message = ""

    def elapsed() -> float:
        return state["elapsed_before_s"] + time.time() - start_time

    def trainer_state() -> dict:
        return dict(state, step=step, elapsed_before_s=elapsed())

    def checkpoint():
        _save_checkpoint(accelerator, folder, step, trainer_state(), config.keep_checkpoints)

    def run_eval() -> dict[str, Any]:
        nonlocal last_eval
        if eval_loader is None:
            return {}
        model.eval()
        # fork_rng: evaluating must not move the global RNG (DataLoader iterators draw from it), so
        # a run that evaluated or stopped early continues exactly as an uninterrupted one would.
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            metrics = task.evaluate(model, eval_loader)
        model.train()
        last_eval = metrics
        if main:
            events.emit({"type": "eval", "step": step, "total_steps": total_steps,
                         "epoch": round(step / updates_per_epoch, 4), "elapsed_s": elapsed(), **metrics})
        return metrics

    def improved(metrics: dict) -> bool:
        key, greater = task.metric_for_best
        value = metrics.get(key)
        if value is None:
            return False
        best = state["best_metric"]
        if best is None or (value > best if greater else value < best):
            state["best_metric"] = value
            state["evals_without_improvement"] = 0
            return True
        state["evals_without_improvement"] += 1
        return False

    model.train()
    done = step >= total_steps
    for epoch in range(state["epoch"], num_epochs):
        if done:
            break
        loader = loader_for(epoch)
        skip = state["batches_done_in_epoch"] if epoch == state["epoch"] else 0
        if skip:
            loader = accelerator.skip_first_batches(loader, skip)
        batches_done = skip
        state["epoch"] = epoch
        for batch in loader:
            with accelerator.accumulate(model):
                loss, stats = task.training_step(model, batch)
                accelerator.backward(loss)
                if accelerator.sync_gradients and config.max_grad_norm:
                    accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            batches_done += 1
            value = loss.detach().float()
            window["loss"] += value.item()
            window["n"] += 1
            window["samples"] += _batch_size(batch)
            window["tokens"] += _batch_tokens(batch)
            for key, val in stats.items():
                window["stats"][key] = window["stats"].get(key, 0.0) + float(val)
            if not accelerator.sync_gradients:
                continue
            step += 1
            state["batches_done_in_epoch"] = batches_done
            progress.update(1)
            bad_loss = _flag_any(accelerator, not math.isfinite(value.item()))
            if bad_loss:
                end_reason = "failed"
                message = (f"the loss became {value.item()} at step {step}; training diverged. "
                           f"Try a lower learning rate than {config.lr:g} (e.g. {config.lr / 10:g}).")
                break
            # Every log_every steps, and at least every 2 s so a watching page stays current.
            log_now = (step % config.log_every == 0 or step == total_steps or step == 1
                       or time.time() - window["t0"] >= 2.0)
            if accelerator.num_processes > 1:
                # The 2-second rule fires at different steps on different processes: agree first,
                # then log the mean over every process's batches, not the main process's share.
                log_now = _flag_any(accelerator, log_now)
                if log_now:
                    window = _sum_over_processes(accelerator, window)
            if log_now:
                now = time.time()
                span = max(now - window["t0"], 1e-9)
                n = max(window["n"], 1)
                rate = (now - start_time) / max(step - start_step, 1)  # seconds per step, this invocation
                event = {"type": "train", "step": step, "total_steps": total_steps,
                         "epoch": round(step / updates_per_epoch, 4), "loss": window["loss"] / n,
                         "lr": scheduler.get_last_lr()[0],
                         "samples_per_s": window["samples"] / span,
                         "tokens_per_s": window["tokens"] / span,
                         "elapsed_s": elapsed(), "eta_s": rate * (total_steps - step)}
                event.update(task.summarize_stats(window["stats"], n))
                if main:
                    events.emit(event)
                    progress.set_postfix(loss=f"{event['loss']:.4f}")
                window = {"loss": 0.0, "n": 0, "samples": 0, "tokens": 0, "t0": time.time(), "stats": {}}
            evaluated = False
            if config.eval_every and step % config.eval_every == 0 and step < total_steps:
                metrics = run_eval()
                evaluated = True
                improved(metrics)
                if not config.save_every:
                    checkpoint()
            if config.save_every and step % config.save_every == 0:
                checkpoint()
            if (config.early_stopping_patience and evaluated
                    and state["evals_without_improvement"] >= config.early_stopping_patience):
                end_reason, message = "finished", f"early stopping after {step} steps"
                break
            if _flag_any(accelerator, main and stop_requested()):
                end_reason, message = "stopped", f"stopped at step {step} on request"
                break
            if budget_s and _flag_any(accelerator, time.time() - start_time >= budget_s):
                end_reason = "stopped_budget"
                message = f"time budget of {config.max_minutes:g} min reached at step {step}"
                break
            if step >= total_steps:
                break
        else:
            state["batches_done_in_epoch"] = 0
            state["epoch"] = epoch + 1
            if not config.eval_every and eval_loader is not None and step < total_steps:
                improved(run_eval())
                if not config.save_every:
                    checkpoint()
            continue
        # The inner loop broke: total steps reached, stop, budget, NaN or early stopping.
        if state["batches_done_in_epoch"] >= batches_per_epoch:
            state["batches_done_in_epoch"], state["epoch"] = 0, epoch + 1
        break
    progress.close()

    if end_reason == "failed":
        if main:
            events.emit({"type": "end", "step": step, "total_steps": total_steps, "state": "failed",
                         "message": message, "elapsed_s": elapsed()})
        raise TrainingFailed(message)

    # Final evaluation, checkpoint (so a stopped or budget-ended run can resume) and final/ model.
    final_metrics = run_eval() if eval_loader is not None else {}
    checkpoint()
    results = {"step": step, "total_steps": total_steps, "elapsed_s": elapsed(),
               "num_processes": accelerator.num_processes, **final_metrics}
    results.update(task.final_results())
    # Under FSDP and DeepSpeed each process may hold only a shard of the weights: gathering the full
    # state dict is a collective every process must join. Elsewhere the main process's own copy is
    # whole, and save_pretrained reads it directly (keeping tied weights tied).
    from accelerate.utils import DistributedType

    sharded = accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED)
    full_state = accelerator.get_state_dict(model) if sharded else None
    if main:
        final_tmp = folder / ".final-tmp"
        shutil.rmtree(final_tmp, ignore_errors=True)
        task.save_final(accelerator.unwrap_model(model), final_tmp, results, state_dict=full_state)
        shutil.rmtree(folder / "final", ignore_errors=True)
        os.replace(final_tmp, folder / "final")
        runs.atomic_write_json(folder / "results.json", results)
        state_name = "stopped" if end_reason in ("stopped", "stopped_budget") else "finished"
        if end_reason == "stopped_budget":
            message += "; resume to continue"
        runs.write_status(folder, state_name, message or f"finished {step} steps", pid=os.getpid())
        events.emit({"type": "end", "step": step, "total_steps": total_steps, "state": state_name,
                     "message": message, "elapsed_s": elapsed()})
    accelerator.wait_for_everyone()
    return results


def _fused_adamw_ok(model) -> bool:
    """The fused AdamW kernel (one pass over all parameters) instead of the per-tensor loop:
    the optimizer step fell from 82 to 19 ms on a quiet 2-core CPU (about 1.04x whole-step samples/s
    there, 1.2-1.4x when the cores are contended; benchmarks/finetune_throughput.py).
    It supports fp32/bf16/fp16 parameters on CPU and CUDA."""
    import torch

    devices = {p.device.type for p in model.parameters()}
    return devices <= {"cpu", "cuda"} and all(p.dtype in (torch.float32, torch.bfloat16, torch.float16)
                                             for p in model.parameters())


def freeze_lower_layers(model, trainable_layers: int) -> int:
    """Freeze the embeddings and every encoder layer below the top `trainable_layers`; returns the
    number of frozen parameters. Heads (cls., classifier.) and the pooler stay trainable. A tied
    MLM decoder shares the word-embedding matrix, so it stays frozen with it (its bias trains)."""
    import re

    n_layers = model.config.num_hidden_layers
    first_trainable = n_layers - trainable_layers
    frozen = 0
    for name, param in model.named_parameters():
        match = re.search(r"encoder\.layer\.(\d+)\.", name)
        if match:
            train_it = int(match.group(1)) >= first_trainable
        else:
            train_it = "embeddings" not in name
        param.requires_grad_(train_it)
        if not train_it:
            frozen += param.numel()
    return frozen


def train_only_mask_row(model, tokenizer) -> int:
    """Let the word-embedding matrix learn only its [MASK] row: every other row's gradient is
    zeroed as it is computed (both from the input lookup and from a tied MLM decoder), so AdamW
    leaves those rows exactly as they were (its moments stay zero). Returns the row's id."""
    import torch

    mask_id = getattr(tokenizer, "mask_token_id", None)
    if mask_id is None:
        raise BadInput("--word-embeddings mask-row: the tokenizer has no [MASK] token")
    # By name, since pre-training wraps the transformers model (no get_input_embeddings there).
    found = [p for n, p in model.named_parameters() if n.endswith("word_embeddings.weight")]
    if len(found) != 1:
        raise BadInput("--word-embeddings mask-row: no single word-embedding matrix in this model")
    weight = found[0]
    keep = torch.zeros(weight.shape[0], 1, dtype=weight.dtype, device=weight.device)
    keep[mask_id] = 1.0
    weight.requires_grad_(True)
    weight.register_hook(lambda grad: grad * keep.to(grad.device, grad.dtype))
    return int(mask_id)


def _batch_size(batch) -> int:
    for key in ("input_ids", "labels"):
        if key in batch:
            return int(batch[key].shape[0])
    return 0


def _batch_tokens(batch) -> int:
    mask = batch.get("attention_mask") if hasattr(batch, "get") else None
    return int(mask.sum().item()) if mask is not None else 0
