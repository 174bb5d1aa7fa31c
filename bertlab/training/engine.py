"""The one training engine: `train(config, on_event=...)` runs fine-tuning and pre-training alike.

It follows the accelerate examples: one `Accelerator`, one `prepare`, `accelerator.accumulate` for
gradient accumulation, linear warm-up/decay, gradient clipping, `save_state` checkpoints. A task
object (bertlab.training.tasks) supplies the model, data and loss; the engine supplies everything around
them: data order, evaluation every N steps, structured events (`events.jsonl`), atomic checkpoints,
resume at the same step / data order / learning rate, stop requests, time budgets, NaN guards.
Two things make its steps cheaper than the usual loop's without changing what is learned in
distribution: fine-tuning updates only the word-embedding rows a batch uses (embedding_rows), and
on the CPU dropout masks come 16 bits at a time (modeling.fast_dropout).

The engine never touches the UI: it writes the run folder (bertlab.training.run_folder.RunFolder), and the
page and the CLI read it.
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

from ..config import TrainConfig
from ..errors import BadInput
from ..modeling import fast_dropout
from ..files import atomic_write_json, read_json_object
from . import embedding_rows
from .run_folder import RunFolder

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
    trackers = {}
    if config.report_to:
        if config.report_to != "tensorboard":
            raise BadInput(f"--report-to: only 'tensorboard' is supported, not {config.report_to!r}")
        try:
            import tensorboard  # noqa: F401  (accelerate's tracker writes through it)
        except ImportError:
            raise BadInput("--report-to tensorboard needs the tensorboard package (pip install tensorboard)") from None
        # The folder is known only once the run folder exists: train() points it there before
        # init_trackers; accelerate needs a logging directory at construction.
        trackers = {"log_with": "tensorboard", "project_dir": config.out or "."}
    return Accelerator(cpu=not cuda, mixed_precision=precision,
                       gradient_accumulation_steps=config.gradient_accumulation_steps, **trackers)


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
    """Appends flat JSON events to the run's events.jsonl (main process only) and calls the hook."""

    def __init__(self, run: RunFolder, enabled: bool, hook: EventHook | None):
        self.run = run
        self.enabled = enabled
        self.hook = hook

    def trim_after(self, step: int) -> None:
        """On resume: drop events logged after the checkpoint we go back to."""
        if self.enabled:
            self.run.trim_events_after(step)

    def emit(self, event: dict[str, Any]) -> None:
        event = {k: _plain(v) for k, v in event.items()}
        if self.enabled:
            self.run.append_event(event)
            if self.hook is not None:
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

    def __init__(self, run: RunFolder):
        self.run = run
        self.signalled = False
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT):
                signal.signal(sig, self._handle)

    def _handle(self, signum, frame):
        self.signalled = True

    def __call__(self) -> bool:
        return self.signalled or self.run.stop_requested()


def _save_checkpoint(accelerator, run: RunFolder, step: int, state: dict, keep: int) -> Path:
    """Write checkpoints/step-N atomically: a temp folder, a COMPLETE marker, then a rename.
    A folder without the marker (a crash mid-write) is never loaded and is cleaned up later."""
    root = run.path / "checkpoints"
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
            atomic_write_json(tmp / "trainer_state.json", state)
            (tmp / "COMPLETE").write_text("ok\n")
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        # The partial checkpoint goes (it would fill the disk for nothing); earlier ones stay intact.
        written = _folder_bytes(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
        previous = run.checkpoints()
        needed = _folder_bytes(previous[-1]) if previous else written
        free = shutil.disk_usage(root).free
        raise TrainingFailed(
            f"disk full while writing checkpoint step-{step}: a checkpoint needs about {needed / 1e6:,.1f} MB and "
            f"{free / 1e6:,.0f} MB are free on the disk of {root}; free some space (older runs, checkpoints) and "
            "resume: the earlier checkpoints are intact") from None
    if accelerator.is_main_process:
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        for old in run.checkpoints()[:-max(1, keep)]:
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
    state, problem = read_json_object(checkpoint / "trainer_state.json")
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


def _load_intact_checkpoint(accelerator, run: RunFolder) -> tuple[dict, Path, list[str]]:
    """Load the newest checkpoint that is whole, falling back past damaged ones; returns
    (its trainer state, its folder, what was skipped and why)."""
    skipped = []
    for checkpoint in reversed(run.checkpoints()):
        problem = checkpoint_problem(checkpoint)
        if not problem:
            try:
                accelerator.load_state(str(checkpoint))
            except Exception as exc:  # a damaged optimizer or RNG file: try the one before
                problem = f"cannot be loaded ({type(exc).__name__}: {str(exc)[:200]})"
        if not problem:
            return read_json_object(checkpoint / "trainer_state.json")[0], checkpoint, skipped
        skipped.append(f"{checkpoint.name}: {problem}")
    if skipped:
        raise BadInput(f"run {run.name} has no intact checkpoint to resume from: " + "; ".join(skipped))
    raise BadInput(f"run {run.name} has no complete checkpoint to resume from")


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
    accelerator = make_accelerator(config)
    main = accelerator.is_main_process
    config.num_processes = accelerator.num_processes
    config.distributed_type = str(accelerator.distributed_type).split(".")[-1]

    if resume:
        run = RunFolder.find(config.out)
    elif main:
        run = RunFolder.create(config.task, config.out)  # a folder the page or `runs` made, or a new one
    accelerator.wait_for_everyone()
    if not resume and not main:
        if not config.out:
            raise BadInput("multi-process runs need --out so all processes share one run folder")
        run = RunFolder(config.out)
    if main:
        run.write_config(config)  # with the process count filled in above
        run.clear_stop()
        run.write_status("running", "preparing data and model", pid=os.getpid(),
                         num_processes=accelerator.num_processes)
    config.out = str(run.path)

    events = EventLog(run, main, on_event)
    stop_requested = StopFlag(run)
    try:
        return _train(config, accelerator, run, events, stop_requested, resume, task, show_progress)
    except (BadInput, TrainingFailed) as exc:
        if main:
            _record_failure(run, str(exc))
        raise
    except Exception as exc:
        if main:
            # The page shows this message: a state-dict mismatch lists hundreds of keys, so the
            # status keeps the start and points to the full traceback (stderr / worker.log).
            message = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                message = f"disk full ({exc.filename or run.path}): free some space and resume the run"
            if len(message) > 600:
                message = message[:600] + " … (cut; the full error is in the log: worker.log for page runs)"
            _record_failure(run, message)
        raise


def _record_failure(run: RunFolder, message: str) -> None:
    """Mark the run failed. On a full disk the status write itself can fail: try again once (the
    failed checkpoint was removed first), and never let it hide the error being reported."""
    for attempt in range(2):
        try:
            run.write_status("failed", message, pid=os.getpid())
            return
        except OSError:
            time.sleep(0.2)


def _train(config, accelerator, run: RunFolder, events, stop_requested, resume, task, show_progress) -> dict[str, Any]:
    """The loop, top to bottom in named steps (as run_mlm_no_trainer.py reads): the task's model and
    data, the step plan, optimizer and schedule, data loaders, the state a resume restores, then
    epochs of update steps, each followed by logging, evaluation, checkpoints and the stop checks,
    and finally the last evaluation, checkpoint and final/ model."""
    from accelerate.utils import set_seed

    # Checked before the task reads and tokenizes its data, which can take minutes.
    if config.word_embeddings not in ("train", "mask-row"):
        raise BadInput(f"word_embeddings must be 'train' or 'mask-row', not {config.word_embeddings!r}")
    set_seed(config.seed)
    if config.report_to:
        # TensorBoard files in RUN/tensorboard/<run id>/; the run's settings as its hyperparameters.
        accelerator.project_configuration.logging_dir = str(run.path / "tensorboard")
        accelerator.init_trackers(run.name, config=_scalar_settings(config.to_dict()))
    loop = TrainingLoop(config, accelerator, run, events, stop_requested)
    loop.resuming = resume
    loop.set_up_task(task)
    loop.plan_steps()
    loop.build_optimizer()
    loop.build_eval_loader()
    if resume:
        loop.restore_from_checkpoint()
    end_reason, message = loop.run_epochs(show_progress)
    return loop.finish(end_reason, message)


def _scalar_settings(config: dict) -> dict[str, Any]:
    """A run config flattened to the str/int/float/bool values a tracker's hyperparameters take
    (lists joined into one string; None left out)."""
    from ..config import flatten

    return {key: ", ".join(map(str, value)) if isinstance(value, list) else value
            for key, value in flatten(config).items() if isinstance(value, (str, int, float, bool, list))}


class TrainingLoop:
    """The state of one run's loop (model, optimizer, schedule, counters) and its steps. Each method
    is one step of `_train`; `state` is what a checkpoint saves and a resume restores."""

    def __init__(self, config, accelerator, run: RunFolder, events: EventLog, stop_requested: StopFlag):
        self.config, self.accelerator, self.run = config, accelerator, run
        self.events, self.stop_requested = events, stop_requested
        self.main = accelerator.is_main_process
        self.state = {"step": 0, "epoch": 0, "batches_done_in_epoch": 0, "best_metric": None,
                      "evals_without_improvement": 0, "elapsed_before_s": 0.0}
        self.step = 0
        self.eval_loader = None
        self.resuming = False
        self.start_time = time.time()

    # ------------------------------------------------------------------ before the first step

    def set_up_task(self, task) -> None:
        """The task's model and data (a test may pass its own task), layers frozen as configured,
        and the data summary and resolved config written beside the run."""
        from .tasks import build_task

        config, main = self.config, self.main
        self.task = task = task or build_task(config, self.accelerator)
        task.setup()
        self.model = task.model
        if config.trainable_layers >= 0:
            frozen = freeze_lower_layers(self.model, config.trainable_layers)
            if main:
                self.events.emit({"type": "info", "step": 0, "message": f"trainable: top {config.trainable_layers} "
                                  f"layers and heads; {frozen:,} parameters frozen"})
        if config.word_embeddings == "mask-row":
            trained_row = train_only_mask_row(self.model, task.tokenizer)
            if main:
                self.events.emit({"type": "info", "step": 0, "message": f"word embeddings fixed except the "
                                  f"[MASK] row (id {trained_row})"})
        self.embedding_rows = self.choose_embedding_updates()
        # Faster dropout masks on the CPU (modeling.fast_dropout: same Bernoulli masks in distribution;
        # steps 1.05x (fine-tuning) to 1.08x (pre-training) as fast); a run on a GPU keeps PyTorch's fused
        # kernel (the model is still on the CPU here: prepare moves it later).
        if self.accelerator.device.type == "cpu":
            fast_dropout.install(self.model)
        if main:
            self.run.write_data_summary(task.data_summary())
            self.run.write_config(config)  # tasks may fill in details (labels, vocab size)

    def choose_embedding_updates(self):
        """The word-embedding weight when it is to be updated row by row (config.embedding_updates;
        training.embedding_rows), else None. `sparse` where it cannot apply is refused with the reason."""
        config = self.config
        if config.embedding_updates == "auto" and self.resuming:
            # Run configs record the resolved choice (below), so "auto" here comes from a run started
            # before row-sparse updates existed: its checkpoints hold one dense optimizer.
            config.embedding_updates = "dense"
        if config.embedding_updates == "dense":
            return None
        why_not = embedding_rows.problem(self.model, config, self.accelerator)
        if why_not and config.embedding_updates == "sparse":
            raise BadInput(f"embedding_updates=sparse does not apply to this run: {why_not}")
        # The choice is written to run_config.json: a resume must build the same optimizers as the
        # checkpoint holds, whatever "auto" would pick on the machine it resumes on.
        config.embedding_updates = "dense" if why_not else "sparse"
        if why_not:
            return None
        module = embedding_rows.word_embedding_module(self.model)
        module.sparse = True  # its backward now returns the rows used, not a dense 30k x H matrix
        if self.main:
            self.events.emit({"type": "info", "step": 0, "message": "word embeddings: only the rows each batch "
                              "uses are updated (sparse gradient, lazy Adam)"})
        return module.weight

    def plan_steps(self) -> None:
        """Optimizer updates per epoch (over all processes, after accumulation), total steps,
        epochs and warm-up steps."""
        config, processes = self.config, self.accelerator.num_processes
        self.lengths = self.task.train_lengths()
        batches = math.ceil(len(self.lengths) / config.batch_size)
        self.batches_per_epoch = math.ceil(batches / processes)
        self.updates_per_epoch = max(1, math.ceil(self.batches_per_epoch / config.gradient_accumulation_steps))
        self.total_steps = config.max_steps or max(1, math.ceil(self.updates_per_epoch * config.epochs))
        self.num_epochs = math.ceil(self.total_steps / self.updates_per_epoch)
        self.warmup_steps = int(config.warmup * self.total_steps) if config.warmup < 1 else int(config.warmup)

    def build_optimizer(self) -> None:
        """AdamW (no decay on biases and norms), a linear warm-up/decay schedule, one prepare."""
        import torch
        from transformers import get_linear_schedule_with_warmup

        config, accelerator = self.config, self.accelerator
        no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
        rows = self.embedding_rows
        params = [p for p in self.model.named_parameters() if p[1].requires_grad and p[1] is not rows]
        if config.word_embeddings == "mask-row":
            # Decoupled weight decay would shrink every row, not only the one that trains.
            no_decay += ("word_embeddings.weight",)
        optimizer = torch.optim.AdamW([
            {"params": [p for n, p in params if not n.endswith(no_decay)], "weight_decay": config.weight_decay},
            {"params": [p for n, p in params if n.endswith(no_decay)], "weight_decay": 0.0},
        ], lr=config.lr, fused=_fused_adamw_ok(self.model))
        # accelerate steps a prepared scheduler once per process per update, hence the scaling.
        def schedule(opt):
            return get_linear_schedule_with_warmup(opt, self.warmup_steps * accelerator.num_processes,
                                                   self.total_steps * accelerator.num_processes)

        scheduler = schedule(optimizer)
        self.model, self.optimizer, self.scheduler = accelerator.prepare(self.model, optimizer, scheduler)
        self.dense_params = [p for _, p in params]
        self.rows_optimizer = self.rows_scheduler = None
        if rows is not None:
            # Lazy Adam for the rows a batch used, on the same schedule; prepared after the others,
            # so checkpoints hold it as the second optimizer and scheduler.
            rows_optimizer = torch.optim.SparseAdam([rows], lr=config.lr)
            self.rows_optimizer, self.rows_scheduler = accelerator.prepare(rows_optimizer, schedule(rows_optimizer))

    @property
    def optimizers(self) -> list:
        """(optimizer, scheduler) pairs stepped together: AdamW, and the rows' SparseAdam if any."""
        pairs = [(self.optimizer, self.scheduler)]
        if self.rows_optimizer is not None:
            pairs.append((self.rows_optimizer, self.rows_scheduler))
        return pairs

    def train_loader(self, epoch: int):
        """This epoch's batches: length-grouped (or shuffled) by a seed that depends on the epoch."""
        import torch
        from torch.utils.data import DataLoader

        config = self.config
        sampler = LengthGroupedBatches(self.lengths, config.batch_size, config.seed, epoch, config.group_by_length)
        # Its own generator: creating the iterator then draws nothing from the global RNG, which
        # a resumed run restored to the checkpoint's state (dropout and masking depend on it).
        loader = DataLoader(self.task.train_dataset, batch_sampler=sampler, collate_fn=self.task.collate_train,
                            generator=torch.Generator().manual_seed(config.seed + epoch))
        return self.accelerator.prepare_data_loader(loader)

    def build_eval_loader(self) -> None:
        """Validation batches, longest first (the first batch shows at once whether memory suffices)."""
        task = self.task
        if task.eval_dataset is None or not len(task.eval_dataset):
            return
        from torch.utils.data import DataLoader

        order = sorted(range(len(task.eval_dataset)), key=lambda i: -task.eval_lengths()[i])
        self.eval_loader = self.accelerator.prepare_data_loader(DataLoader(
            [task.eval_dataset[i] for i in order], batch_size=self.config.batch_size * 2,
            collate_fn=task.collate_eval, shuffle=False))

    def restore_from_checkpoint(self) -> None:
        """Model, optimizer, schedule, RNG and counters from the newest intact checkpoint; events
        written after it are dropped, so the curves continue from the same step."""
        saved, checkpoint, skipped = _load_intact_checkpoint(self.accelerator, self.run)
        self.state.update(saved)
        self.events.trim_after(self.state["step"])
        if self.main:
            resumed = {"type": "resume", "step": self.state["step"], "total_steps": self.total_steps,
                       "checkpoint": checkpoint.name}
            if skipped:
                resumed["message"] = ("resumed from the newest intact checkpoint, " + checkpoint.name
                                      + "; skipped " + "; ".join(skipped))
            self.events.emit(resumed)

    # ------------------------------------------------------------------ the epochs

    def run_epochs(self, show_progress: bool) -> tuple[str, str]:
        """Epochs of update steps until the plan, a stop request, the time budget, early stopping or
        a non-finite loss ends them; returns (end reason, message)."""
        from tqdm.auto import tqdm

        config, accelerator, state = self.config, self.accelerator, self.state
        self.start_time = time.time()
        self.budget_s = config.max_minutes * 60 if config.max_minutes else None
        self.step = self.start_step = state["step"]
        self.progress = tqdm(total=self.total_steps, initial=self.step, disable=not (self.main and show_progress),
                             desc=f"{config.task}", dynamic_ncols=True)
        if self.main:
            self.run.write_status("running", "training", pid=os.getpid(), total_steps=self.total_steps)
        self.window = self._new_window()
        end: tuple[str, str] = ("finished", "")
        self.model.train()
        for epoch in range(state["epoch"], self.num_epochs):
            if self.step >= self.total_steps:
                break
            loader = self.train_loader(epoch)
            skip = state["batches_done_in_epoch"] if epoch == state["epoch"] else 0
            if skip:  # a resumed run continues mid-epoch with the same batches
                loader = accelerator.skip_first_batches(loader, skip)
            batches_done = skip
            state["epoch"] = epoch
            ended = None
            for batch in loader:
                loss = self.train_step(batch)
                batches_done += 1
                if not accelerator.sync_gradients:
                    continue  # a micro-batch of gradient accumulation: no update yet
                self.step += 1
                state["batches_done_in_epoch"] = batches_done
                self.progress.update(1)
                ended = self.after_update(loss)
                if ended:
                    break
            if ended is None:  # the epoch ran out
                state["batches_done_in_epoch"] = 0
                state["epoch"] = epoch + 1
                if not config.eval_every and self.eval_loader is not None and self.step < self.total_steps:
                    self.improved(self.evaluate())
                    if not config.save_every:
                        self.checkpoint()
                continue
            end = ended
            if state["batches_done_in_epoch"] >= self.batches_per_epoch:
                state["batches_done_in_epoch"], state["epoch"] = 0, epoch + 1
            break
        self.progress.close()
        return end

    def train_step(self, batch):
        """Forward, backward, clip, optimizer and schedule (a no-op on accumulation micro-batches);
        the batch's loss, size and tokens go into the logging window. Returns the loss (a tensor)."""
        config, accelerator = self.config, self.accelerator
        with accelerator.accumulate(self.model):
            loss, stats = self.task.training_step(self.model, batch)
            accelerator.backward(loss)
            rows = self.embedding_rows
            if rows is None:
                if accelerator.sync_gradients and config.max_grad_norm:
                    accelerator.clip_grad_norm_(self.model.parameters(), config.max_grad_norm)
            elif accelerator.sync_gradients:
                embedding_rows.coalesce_gradient(rows)
                if config.max_grad_norm:
                    embedding_rows.clip_(self.dense_params, rows, config.max_grad_norm,
                                         fused_optimizer=self.optimizer.optimizer)
            for optimizer, scheduler in self.optimizers:
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
        value = loss.detach().float()
        window = self.window
        window["loss"] += value.item()
        window["n"] += 1
        window["samples"] += _batch_size(batch)
        window["tokens"] += _batch_tokens(batch)
        for key, val in stats.items():
            window["stats"][key] = window["stats"].get(key, 0.0) + float(val)
        return value

    def after_update(self, loss) -> tuple[str, str] | None:
        """After each optimizer update: the NaN guard, the log line, evaluation and checkpoints when
        due, then the reasons to end early. Returns (end reason, message) when the run ends here."""
        config, accelerator, step = self.config, self.accelerator, self.step
        if _flag_any(accelerator, not math.isfinite(loss.item())):
            return "failed", (f"the loss became {loss.item()} at step {step}; training diverged. "
                              f"Try a lower learning rate than {config.lr:g} (e.g. {config.lr / 10:g}).")
        self.log_window()
        evaluated = False
        if config.eval_every and step % config.eval_every == 0 and step < self.total_steps:
            self.improved(self.evaluate())
            evaluated = True
            if not config.save_every:
                self.checkpoint()
        if config.save_every and step % config.save_every == 0:
            self.checkpoint()
        if (config.early_stopping_patience and evaluated
                and self.state["evals_without_improvement"] >= config.early_stopping_patience):
            return "finished", f"early stopping after {step} steps"
        if _flag_any(accelerator, self.main and self.stop_requested()):
            return "stopped", f"stopped at step {step} on request"
        if self.budget_s and _flag_any(accelerator, time.time() - self.start_time >= self.budget_s):
            return "stopped_budget", f"time budget of {config.max_minutes:g} min reached at step {step}"
        if step >= self.total_steps:
            return "finished", ""
        return None

    # ------------------------------------------------------------------ logging, evaluation, checkpoints

    @staticmethod
    def _new_window() -> dict:
        return {"loss": 0.0, "n": 0, "samples": 0, "tokens": 0, "t0": time.time(), "stats": {}}

    def elapsed(self) -> float:
        return self.state["elapsed_before_s"] + time.time() - self.start_time

    def log_window(self) -> None:
        """Every log_every steps, and at least every 2 s so a watching page stays current: one train
        event with the window's mean loss, speed, lr and ETA, then a fresh window."""
        config, accelerator, step = self.config, self.accelerator, self.step
        log_now = (step % config.log_every == 0 or step == self.total_steps or step == 1
                   or time.time() - self.window["t0"] >= 2.0)
        if accelerator.num_processes > 1:
            # The 2-second rule fires at different steps on different processes: agree first,
            # then log the mean over every process's batches, not the main process's share.
            log_now = _flag_any(accelerator, log_now)
            if log_now:
                self.window = _sum_over_processes(accelerator, self.window)
        if not log_now:
            return
        window, now = self.window, time.time()
        span = max(now - window["t0"], 1e-9)
        n = max(window["n"], 1)
        seconds_per_step = (now - self.start_time) / max(step - self.start_step, 1)  # this invocation
        event = {"type": "train", "step": step, "total_steps": self.total_steps,
                 "epoch": round(step / self.updates_per_epoch, 4), "loss": window["loss"] / n,
                 "lr": self.scheduler.get_last_lr()[0],
                 "samples_per_s": window["samples"] / span, "tokens_per_s": window["tokens"] / span,
                 "elapsed_s": self.elapsed(), "eta_s": seconds_per_step * (self.total_steps - step)}
        event.update(self.task.summarize_stats(window["stats"], n))
        if self.main:
            self.events.emit(event)
            self.progress.set_postfix(loss=f"{event['loss']:.4f}")
        self.track(event, "train")
        self.window = self._new_window()

    def evaluate(self) -> dict[str, Any]:
        """The task's validation metrics now (an eval event too); {} without validation data."""
        import torch

        if self.eval_loader is None:
            return {}
        self.model.eval()
        # fork_rng: evaluating must not move the global RNG (DataLoader iterators draw from it), so
        # a run that evaluated or stopped early continues exactly as an uninterrupted one would.
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            metrics = self.task.evaluate(self.model, self.eval_loader)
        self.model.train()
        if self.main:
            details = self.task.eval_details()  # what the numbers do not say (confusion matrix, ...)
            if details:
                self.run.write_eval_details(details)
            self.events.emit({"type": "eval", "step": self.step, "total_steps": self.total_steps,
                              "epoch": round(self.step / self.updates_per_epoch, 4), "elapsed_s": self.elapsed(),
                              **metrics})
        self.track(metrics, "eval")
        return metrics

    def track(self, values: dict, group: str) -> None:
        """The numbers of a train or eval event to the run's trackers (--report-to), as
        "train/loss", "eval/accuracy", ... at this step; accelerate writes on the main process only."""
        if not self.config.report_to:
            return
        numbers = {f"{group}/{key.removeprefix('eval_')}": float(value) for key, value in values.items()
                   if isinstance(value, (int, float)) and not isinstance(value, bool)
                   and key not in ("step", "total_steps", "epoch") and math.isfinite(value)}
        if numbers:
            self.accelerator.log(numbers, step=self.step)

    def improved(self, metrics: dict) -> bool:
        """Track the best value of the task's metric (for early stopping)."""
        key, greater = self.task.metric_for_best
        value = metrics.get(key)
        if value is None:
            return False
        best = self.state["best_metric"]
        if best is None or (value > best if greater else value < best):
            self.state["best_metric"] = value
            self.state["evals_without_improvement"] = 0
            return True
        self.state["evals_without_improvement"] += 1
        return False

    def checkpoint(self) -> None:
        trainer_state = dict(self.state, step=self.step, elapsed_before_s=self.elapsed())
        _save_checkpoint(self.accelerator, self.run, self.step, trainer_state, self.config.keep_checkpoints)

    # ------------------------------------------------------------------ the end

    def finish(self, end_reason: str, message: str) -> dict[str, Any]:
        """A diverged run fails; any other ends with a last evaluation, a checkpoint (so a stopped or
        budget-ended run can resume), the final/ model, results.json and its status."""
        main, step, total = self.main, self.step, self.total_steps
        if end_reason == "failed":
            if main:
                self.events.emit({"type": "end", "step": step, "total_steps": total, "state": "failed",
                                  "message": message, "elapsed_s": self.elapsed()})
            raise TrainingFailed(message)
        final_metrics = self.evaluate() if self.eval_loader is not None else {}
        self.checkpoint()
        results = {"step": step, "total_steps": total, "elapsed_s": self.elapsed(),
                   "num_processes": self.accelerator.num_processes, **final_metrics}
        results.update(self.task.final_results())
        self.save_final_model(results)
        if main:
            self.run.write_results(results)
            state_name = "stopped" if end_reason in ("stopped", "stopped_budget") else "finished"
            if end_reason == "stopped_budget":
                message += "; resume to continue"
            self.run.write_status(state_name, message or f"finished {step} steps", pid=os.getpid())
            self.events.emit({"type": "end", "step": step, "total_steps": total, "state": state_name,
                              "message": message, "elapsed_s": self.elapsed()})
        if self.config.report_to:
            self.accelerator.end_training()  # flushes and closes the TensorBoard writer
        self.accelerator.wait_for_everyone()
        return results

    def save_final_model(self, results: dict) -> None:
        """final/ written whole or not at all: into a temporary folder, then renamed."""
        from accelerate.utils import DistributedType

        accelerator = self.accelerator
        # Under FSDP and DeepSpeed each process may hold only a shard of the weights: gathering the
        # full state dict is a collective every process must join. Elsewhere the main process's own
        # copy is whole, and save_pretrained reads it directly (keeping tied weights tied).
        sharded = accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED)
        full_state = accelerator.get_state_dict(self.model) if sharded else None
        if self.main:
            final_tmp = self.run.path / ".final-tmp"
            shutil.rmtree(final_tmp, ignore_errors=True)
            self.task.save_final(accelerator.unwrap_model(self.model), final_tmp, results, state_dict=full_state)
            shutil.rmtree(self.run.path / "final", ignore_errors=True)
            os.replace(final_tmp, self.run.path / "final")


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
