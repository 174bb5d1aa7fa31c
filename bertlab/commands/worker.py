"""Internal: train the run whose folder is given, waiting for the machine's training slot first.
The page starts this in its own process session (bertlab.runs.start_run)."""

from __future__ import annotations

HELP = "internal: run a prepared run folder (used by the page)"


def add_arguments(parser):
    parser.add_argument("folder")
    parser.add_argument("--resume", action="store_true")


def run(args) -> int:
    import os
    import signal
    from pathlib import Path

    # Handlers first: a stop request that arrives while torch is still importing must not kill us.
    stop = {"flag": False}
    signal.signal(signal.SIGUSR1, lambda *_: stop.update(flag=True))
    signal.signal(signal.SIGTERM, lambda *_: stop.update(flag=True))

    from .. import runs
    from ..config import TrainConfig
    from ..engine import TrainingFailed, train

    folder = Path(args.folder)
    lock = runs.DeviceLock()
    wants_stop = lambda: stop["flag"] or (folder / "STOP").exists()
    if not lock.acquire(should_stop=wants_stop):
        runs.write_status(folder, "stopped", "stopped while queued", pid=os.getpid())
        (folder / "STOP").unlink(missing_ok=True)
        return 0
    try:
        config = TrainConfig.load(folder / "run_config.json")
        config.out = str(folder)
        try:
            train(config, resume=args.resume, show_progress=False)
        except TrainingFailed:
            return 1
        return 0
    finally:
        lock.release()
