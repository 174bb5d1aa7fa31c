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

    from .. import launch, runs
    from ..config import TrainConfig

    folder = Path(args.folder)
    wants_stop = lambda: stop["flag"] or (folder / "STOP").exists()
    if launch.launched():
        # One of the processes `accelerate launch` started for this run: the worker that launched
        # them holds the machine's training slot.
        return _train(TrainConfig.load(folder / "run_config.json"), folder, args.resume)
    lock = runs.DeviceLock()
    if not lock.acquire(should_stop=wants_stop):
        runs.write_status(folder, "stopped", "stopped while queued", pid=os.getpid())
        (folder / "STOP").unlink(missing_ok=True)
        return 0
    try:
        config = TrainConfig.load(folder / "run_config.json")
        if config.accelerate_config:
            return _launch(folder, config.accelerate_config, args.resume, wants_stop)
        return _train(config, folder, args.resume)
    finally:
        lock.release()


def _train(config, folder, resume: bool) -> int:
    from ..engine import TrainingFailed, train

    config.out = str(folder)
    try:
        train(config, resume=resume, show_progress=False)
    except TrainingFailed:
        return 1
    return 0


def _launch(folder, accelerate_config: str, resume: bool, wants_stop) -> int:
    """Run this folder under `accelerate launch`, every process running `worker --resume?` again
    (they see LAUNCHED_ENV and train). Stop requests reach the engine through the STOP file, which
    its main process polls and broadcasts to the others."""
    import os
    import subprocess
    import time

    from .. import launch, runs
    from ..errors import BadInput

    try:
        cmd = launch.launch_command(accelerate_config, ["worker", str(folder)] + (["--resume"] if resume else []))
    except BadInput as exc:
        runs.write_status(folder, "failed", str(exc), pid=os.getpid())
        return 2
    print("launching: " + " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, env=launch.launch_env(), stdin=subprocess.DEVNULL)
    while proc.poll() is None:
        if wants_stop() and not (folder / "STOP").exists():
            (folder / "STOP").write_text(str(time.time()))  # a signal to this process: pass it on
        time.sleep(0.5)
    state = runs.read_status(folder).get("state")
    if state in ("queued", "running"):
        # The launcher or a process died before the engine could say so (a bad config for this
        # machine, a crash): the run must not look alive, and the log says why.
        runs.write_status(folder, "failed", f"accelerate launch exited with code {proc.returncode} "
                          f"before the run ended; see worker.log in the run folder", pid=os.getpid())
    return proc.returncode
