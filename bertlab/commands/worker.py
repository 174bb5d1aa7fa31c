"""Internal: train the run whose folder is given, waiting for the machine's training slot first.
The page starts this in its own process session (bertlab.training.runs.start_run)."""

from __future__ import annotations

HELP = "internal: run a prepared run folder (used by the page)"


def add_arguments(parser):
    parser.add_argument("folder")
    parser.add_argument("--resume", action="store_true")


def run(args) -> int:
    import os
    import signal

    # Handlers first: a stop request that arrives while torch is still importing must not kill us.
    stop = {"flag": False}
    signal.signal(signal.SIGUSR1, lambda *_: stop.update(flag=True))
    signal.signal(signal.SIGTERM, lambda *_: stop.update(flag=True))

    from ..training import launch, runs
    from ..training.run_folder import RunFolder

    folder = RunFolder(args.folder)
    wants_stop = lambda: stop["flag"] or folder.stop_requested()
    if launch.launched():
        # One of the processes `accelerate launch` started for this run: the worker that launched
        # them holds the machine's training slot.
        return _train(folder.load_config(), folder, args.resume)
    lock = runs.DeviceLock()
    if not lock.acquire(should_stop=wants_stop):
        folder.write_status("stopped", "stopped while queued", pid=os.getpid())
        folder.clear_stop()
        return 0
    try:
        config = folder.load_config()
        if config.accelerate_config:
            return _launch(folder, config.accelerate_config, args.resume, wants_stop)
        return _train(config, folder, args.resume)
    finally:
        lock.release()


def _train(config, folder, resume: bool) -> int:
    from ..training.engine import TrainingFailed, train

    config.out = str(folder.path)
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

    from ..training import launch
    from ..errors import BadInput

    try:
        cmd = launch.launch_command(accelerate_config, ["worker", str(folder.path)] + (["--resume"] if resume else []))
    except BadInput as exc:
        folder.write_status("failed", str(exc), pid=os.getpid())
        return 2
    print("launching: " + " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, env=launch.launch_env(), stdin=subprocess.DEVNULL)
    while proc.poll() is None:
        if wants_stop() and not folder.stop_requested():
            folder.request_stop()  # a signal to this process: pass it on
        time.sleep(0.5)
    state = folder.status().get("state")
    if state in ("queued", "running"):
        # The launcher or a process died before the engine could say so (a bad config for this
        # machine, a crash): the run must not look alive, and the log says why.
        folder.write_status("failed", f"accelerate launch exited with code {proc.returncode} "
                          f"before the run ended; see worker.log in the run folder", pid=os.getpid())
    return proc.returncode
