"""The flags of `finetune` and `pretrain`, built from the config's fields (bertlab.config: help,
defaults per task, bounds and choices), and the run they start."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..config import FinetuneConfig, PretrainConfig, TrainConfig, apply_overrides, apply_preset, cli_flag
from ..errors import BadInput

SECTIONS = {"finetune": FinetuneConfig, "pretrain": PretrainConfig}


def flag_fields(task: str) -> list[tuple[str, dataclasses.Field]]:
    """(config key, field) for every setting with a flag: TrainConfig's, then the task's section."""
    found = [(f.name, f) for f in dataclasses.fields(TrainConfig)]
    found += [(f"{task}.{f.name}", f) for f in dataclasses.fields(SECTIONS[task])]
    return [(key, f) for key, f in found if f.metadata.get("help") and f.metadata["flag"] is not None]


def _dest(key: str) -> str:
    return "setting__" + key.replace(".", "__")


def add_training_arguments(parser, task: str) -> None:
    defaults = TrainConfig.for_task(task)
    group = parser.add_argument_group("training")
    for key, f in flag_fields(task):
        meta, section = f.metadata, key.rpartition(".")[0]
        default = getattr(getattr(defaults, section) if section else defaults, f.name)
        kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        text = meta["help"] + (f" ({' | '.join(c for c in meta['choices'] if c)})" if meta["choices"] else "")
        if kind == "bool":
            group.add_argument(cli_flag(f), dest=_dest(key), action="store_true", default=None, help=text)
            continue
        text += "" if default in ("", []) else f" (default {default!r})"
        if kind.startswith("list"):
            group.add_argument(cli_flag(f), dest=_dest(key), nargs="+", default=None, help=text,
                               metavar=f.name.upper())
        else:
            group.add_argument(cli_flag(f), dest=_dest(key), type={"int": int, "float": float}.get(kind, str),
                               default=None, help=text, metavar=f.name.upper())
    parser.add_argument("--config", help="start from a saved run_config.json (flags override it)")
    parser.add_argument("--resume", metavar="RUN", help="continue RUN from its last complete checkpoint")
    parser.add_argument("--background", action="store_true",
                        help="start the run in a worker process and return (watch with `runs show`)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def given_settings(args, task: str) -> dict:
    """{config key: value} of the flags given on the command line (a negating flag sets False)."""
    given = {}
    for key, f in flag_fields(task):
        value = getattr(args, _dest(key))
        if value is not None:
            given[key] = not value if f.metadata["negate"] else value
    return given


def config_from_args(args, task: str) -> TrainConfig:
    """The task's defaults (or a saved config), the flags given, the size preset's learning rate and
    batch size where no flag set them; checked (config.validate) unless resuming."""
    config = TrainConfig.load(args.config) if args.config else TrainConfig.for_task(task)
    config.task = task
    given = given_settings(args, task)
    config = apply_preset(apply_overrides(config, **given), set(given))
    return config if args.resume else config.validate()


def run_training(args, config: TrainConfig) -> int:
    from ..training import runs
    from ..cli import print_json
    from ..training.run_folder import RunFolder
    from ..training.engine import TrainingFailed, train

    if args.resume:
        folder = RunFolder.find(args.resume)
        saved = folder.load_config()
        saved.out = str(folder.path)
        # A resumed run keeps its data and model; only the budget and step limits may change. They
        # are saved with the run: a background worker reads run_config.json, and so does the next resume.
        changed = False
        limits = given_settings(args, saved.task)
        for key in ("max_minutes", "max_steps", "epochs"):
            value = limits.get(key)
            if value is not None and value != getattr(saved, key):
                setattr(saved, key, value)
                changed = True
        if changed:
            if folder.status().get("state") in ("running", "queued"):
                raise BadInput(f"run {folder.name} is still training; stop it before resuming with new limits")
            folder.write_config(saved)
        config, resume = saved, True
    else:
        resume = False
    from ..training import launch

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
