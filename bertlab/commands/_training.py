"""Flags shared by `finetune` and `pretrain`, mapped onto TrainConfig fields of the same name."""

from __future__ import annotations

from pathlib import Path

from ..config import TrainConfig
from ..errors import BadInput

# flag -> (config key, type, help)
COMMON = {
    "--model": ("model", str, "model name: default, a local folder, a finished run, or a hub id"),
    "--out": ("out", str, "run folder (default runs/<run-id>)"),
    "--epochs": ("epochs", float, "passes over the training data"),
    "--max-steps": ("max_steps", int, "optimizer steps; overrides --epochs"),
    "--batch-size": ("batch_size", int, "examples per step and process"),
    "--gradient-accumulation-steps": ("gradient_accumulation_steps", int, "batches per optimizer step"),
    "--lr": ("lr", float, "peak learning rate"),
    "--warmup": ("warmup", float, "warm-up: a fraction of the steps (<1) or a number of steps"),
    "--weight-decay": ("weight_decay", float, "AdamW weight decay"),
    "--max-grad-norm": ("max_grad_norm", float, "gradient clipping (0 = off)"),
    "--seed": ("seed", int, "random seed (data order, initialisation, masking)"),
    "--eval-every": ("eval_every", int, "evaluate every N steps (0 = every epoch)"),
    "--log-every": ("log_every", int, "write a train event every N steps"),
    "--save-every": ("save_every", int, "checkpoint every N steps (0 = at each evaluation)"),
    "--keep-checkpoints": ("keep_checkpoints", int, "how many complete checkpoints to keep"),
    "--max-minutes": ("max_minutes", float, "time budget; the run ends cleanly with a checkpoint"),
    "--early-stopping-patience": ("early_stopping_patience", int, "evaluations without improvement before stopping"),
    "--trainable-layers": ("trainable_layers", int, "train only the top K encoder layers + heads (-1 = all)"),
    "--word-embeddings": ("word_embeddings", str, "train | mask-row (keep the word-embedding matrix fixed "
                          "except the [MASK] row)"),
    "--mixed-precision": ("mixed_precision", str, "auto | no | bf16 | fp16 (auto = bf16 on a capable GPU)"),
    "--report-to": ("report_to", str, "tensorboard: also write TensorBoard event files to RUN/tensorboard/ "
                    "(through accelerate's tracker; off by default)"),
    "--accelerate-config": ("accelerate_config", str,
                            "run under `accelerate launch --config_file F` (several processes, GPUs or "
                            "machines; see examples/accelerate/)"),
}


def add_training_arguments(parser, section_flags: dict, defaults: TrainConfig) -> None:
    group = parser.add_argument_group("training")
    for flag, (key, typ, text) in COMMON.items():
        group.add_argument(flag, type=typ, default=None, help=f"{text} (default {getattr(defaults, key)!r})")
    parser.add_argument("--config", help="start from a saved run_config.json (flags override it)")
    parser.add_argument("--resume", metavar="RUN", help="continue RUN from its last complete checkpoint")
    parser.add_argument("--background", action="store_true",
                        help="start the run in a worker process and return (watch with `runs show`)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    for flag, spec in section_flags.items():
        key, typ, text = spec
        if typ is bool:
            parser.add_argument(flag, action="store_true", default=None, help=text)
        elif typ is list:
            parser.add_argument(flag, nargs="+", default=None, help=text)
        else:
            parser.add_argument(flag, type=typ, default=None, help=text)


def config_from_args(args, task: str, section_flags: dict, defaults: TrainConfig) -> TrainConfig:
    config = TrainConfig.load(args.config) if args.config else defaults
    config.task = task
    overrides = {}
    for flag, (key, _, _) in list(COMMON.items()) + list(section_flags.items()):
        value = getattr(args, flag.lstrip("-").replace("-", "_"))
        if value is not None:
            overrides[key] = value
    from ..config import apply_overrides

    return apply_overrides(config, **overrides)


def run_training(args, config: TrainConfig) -> int:
    from .. import runs
    from ..cli import print_json
    from ..engine import TrainingFailed, train

    if args.resume:
        folder = runs.run_dir(args.resume)
        saved = TrainConfig.load(folder / "run_config.json")
        saved.out = str(folder)
        # A resumed run keeps its data and model; only the budget and step limits may change. They
        # are saved with the run: a background worker reads run_config.json, and so does the next resume.
        changed = False
        for key in ("max_minutes", "max_steps", "epochs"):
            value = getattr(args, key, None)
            if value is not None and value != getattr(saved, key):
                setattr(saved, key, value)
                changed = True
        if changed:
            if runs.read_status(folder).get("state") in ("running", "queued"):
                raise BadInput(f"run {folder.name} is still training; stop it before resuming with new limits")
            saved.save(folder / "run_config.json")
        config, resume = saved, True
    else:
        resume = False
    from .. import launch

    if config.accelerate_config and not launch.launched():
        config.accelerate_config = str(Path(config.accelerate_config).resolve())
        if not args.background:
            # The same command again, each process started by the launcher (which sets LAUNCHED_ENV);
            # launch_command checks the file first.
            import subprocess

            cmd = launch.launch_command(config.accelerate_config, args._argv)
            return subprocess.call(cmd, env=launch.launch_env())
        launch.check_accelerate_config(config.accelerate_config)  # before queueing, not in the worker
    if args.background:
        folder = runs.start_run(config, resume=resume)
        print(f"started {folder} (python -m bertlab runs show {folder})")
        return 0
    try:
        results = train(config, resume=resume, show_progress=not args.quiet)
    except TrainingFailed as exc:
        print(f"error: {exc}", file=__import__("sys").stderr)
        return 1
    from accelerate import PartialState

    if not PartialState().is_main_process:
        return 0  # under `accelerate launch` only the main process reports
    if args.json:
        print_json(results)
    else:
        print(f"run folder: {config.out}")
        for key, value in results.items():
            if isinstance(value, float):
                print(f"  {key:22} {value:.4f}")
            elif isinstance(value, int):
                print(f"  {key:22} {value}")
        print(f"model: {config.out}/final")
    return 0
