"""The runs on this machine and the worker processes that train them.

Each run is a folder owned by `bertlab.training.run_folder.RunFolder` (its files are listed there). This
module lists and summarises the runs, starts a run's worker process, queues runs for the machine,
and stops, resumes and deletes them.

The page never trains: `start_run` writes the config and launches `python -m bertlab worker RUN`
in its own process session, so closing the tab or restarting the page does not kill or orphan it.
One run trains at a time per machine: workers take an exclusive file lock (`runs/.device.lock`)
and wait, as "queued", until it is free; the OS releases the lock if a worker dies.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..errors import BadInput
from .events import SUMMARY_METRICS, TRAIN
# Re-exported: scripts (examples/export_default.py) and tests use these spellings.
from ..files import atomic_write_json, atomic_write_text, read_json, read_json_object  # noqa: F401
from .run_folder import STATES, EventReader, RunFolder, new_run_id, pid_alive as _pid_alive, runs_root  # noqa: F401


# ------------------------------------------------------------------------------ one folder, by path or id
# The functional spelling of RunFolder's methods, for scripts and tests.


def run_dir(run: str | Path) -> Path:
    """A run id (under runs/) or a path to a run folder."""
    return RunFolder.find(run).path


def prepare_run_dir(config) -> Path:
    """Create the run folder for `config` and write its run_config.json."""
    folder = RunFolder.create(config.task, config.out)
    folder.write_config(config)
    return folder.path


def write_status(folder: str | Path, state: str, message: str = "", **extra) -> None:
    RunFolder(folder).write_status(state, message, **extra)


def read_status(folder: str | Path) -> dict[str, Any]:
    return RunFolder(folder).status()


def read_events(folder: str | Path, tail: int | None = None) -> list[dict[str, Any]]:
    return RunFolder(folder).events(tail)


def complete_checkpoints(folder: str | Path) -> list[Path]:
    return RunFolder(folder).checkpoints()


# ------------------------------------------------------------------------------ all runs


def list_runs() -> list[dict[str, Any]]:
    root = runs_root()
    rows = []
    if not root.is_dir():
        return rows
    for folder in root.iterdir():
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        try:
            rows.append(run_summary(folder))
        except Exception as exc:  # one damaged folder must never hide the others
            rows.append({"run": folder.name, "path": str(folder), "state": "damaged",
                         "message": f"cannot be read: {type(exc).__name__}: {exc}"[:300], "task": "?",
                         "model": "?", "step": None, "total_steps": None, "loss": None, "has_final": False,
                         "created": None, "damaged": str(exc)[:300]})
    # Newest first, by when the run was created (a folder's name need not be its date).
    rows.sort(key=lambda r: _number(r.get("created")) or _mtime(Path(r["path"])), reverse=True)
    return rows


def _number(value) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def run_summary(folder: str | Path) -> dict[str, Any]:
    """One row of the runs table."""
    folder = RunFolder(folder)
    config, problem = folder.config_dict()
    return _summary(folder, folder.status(), config, problem, folder.events(tail=50), folder.results())


def _summary(folder: RunFolder, status: dict, config: dict, config_problem: str, events: list[dict],
             results: dict) -> dict[str, Any]:
    last = next((e for e in reversed(events) if e.get("type") == TRAIN), {})
    progress = next((e for e in reversed(events) if "step" in e), last)
    row = {"run": folder.name, "path": str(folder.path), "state": status.get("state"),
           "message": status.get("message", ""), "task": config.get("task", "?"),
           "model": config.get("model") or "default", "step": progress.get("step"),
           "total_steps": progress.get("total_steps"), "loss": last.get("loss"),
           "has_final": folder.has_final_model(), "created": status.get("created")}
    for key, _ in SUMMARY_METRICS:
        if key in results:
            row[key] = results[key]
    row["resumable"] = resumable(row["state"], folder.path, row["step"])
    if config_problem:
        row["damaged"] = config_problem
        row["message"] = f"damaged: {config_problem}" + (f"; {row['message']}" if row["message"] else "")
        row["task"] = row["model"] = "?"
    if row["state"] == "queued":
        row["queue_position"] = queue_position(folder.path)
    return row


def run_state(run: str | Path, tail: int = 2000, reader: EventReader | None = None) -> dict[str, Any]:
    """Everything the page shows of a run, each file read once. With `reader` (kept by the caller
    between calls) only the events appended since its last read are parsed."""
    folder = RunFolder.find(run)
    if reader is not None:
        reader.read()
        events = reader.events
    else:
        events = folder.events()
    status, results = folder.status(), folder.results()
    config, problem = folder.config_dict()
    return {"summary": _summary(folder, status, config, problem, events[-50:], results), "status": status,
            "events": events[-tail:] if tail else list(events), "results": results, "config": config,
            "eval_details": folder.eval_details(), "data_summary": folder.data_summary()}


def zip_final(run: str | Path) -> str:
    """Zip final/ (weights, tokenizer, config, model card) into the run folder; returns the path.
    Written via a temporary name and a rename, so a download never gets half a zip."""
    folder = run_dir(run)
    final = folder / "final"
    if not (final / "config.json").exists():
        raise BadInput(f"run {folder.name} has no finished model yet")
    # Zips go to a downloads folder under the temp dir: the web server hands out files from there,
    # while the run folders themselves (configs, logs, uploaded data) are never served.
    downloads = Path(tempfile.gettempdir()) / "bertlab-downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    target = downloads / f"{folder.name}-model.zip"
    if target.exists() and target.stat().st_mtime >= (final / "config.json").stat().st_mtime:
        return str(target)
    tmp = downloads / f".{target.name}.{os.getpid()}.tmp"
    shutil.make_archive(str(tmp), "zip", root_dir=final)
    os.replace(str(tmp) + ".zip", target)
    return str(target)


def queue_position(folder: Path) -> int:
    """1 = next to train. Counts queued runs created earlier (and a running one) on this machine."""
    mine = _number(read_status(folder).get("created"))
    ahead = 0
    for other in runs_root().iterdir() if runs_root().is_dir() else []:
        if other == folder or not other.is_dir():
            continue
        status = read_status(other)
        if status.get("state") == "queued" and _number(status.get("created")) < mine:
            ahead += 1
    return ahead + 1


# ------------------------------------------------------------------------------ workers


def start_run(config, resume: bool = False, folder: RunFolder | None = None) -> str:
    """Write the run's config (a new run: into `folder`, or a folder made now) and launch its worker
    process; returns the run folder path."""
    if resume:
        folder = RunFolder(config.out)
    else:
        folder = folder or RunFolder.create(config.task, config.out)
        folder.write_config(config)
    folder.write_status("queued", "waiting for the machine", pid=None)
    log = open(folder.path / RunFolder.LOG, "ab")
    cmd = [sys.executable, "-m", "bertlab", "worker", str(folder.path)] + (["--resume"] if resume else [])
    from .launch import project_env

    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, env=project_env(), cwd=os.getcwd())
    log.close()
    folder.write_status("queued", "waiting for the machine", pid=proc.pid)
    return str(folder.path)


RESUMABLE_STATES = ("stopped", "failed", "interrupted")


def resumable(state: str | None, folder: Path, step=None) -> bool:
    """Whether Resume can help: a stopped or interrupted run continues (or starts over, when it
    ended before its first checkpoint); a failed run only once it trained, since a run that failed
    before its first step (a file it cannot read, a model it cannot load) would fail the same way
    again: the user starts a new run with the input fixed."""
    if state not in RESUMABLE_STATES:
        return False
    if state != "failed":
        return True
    return bool(step) or bool(complete_checkpoints(folder))


def resume_run(run: str | Path) -> str:
    folder = RunFolder.find(run)
    status = folder.status()
    state = status.get("state")
    if state in ("running", "queued"):
        raise BadInput(f"run {folder.name} is {state}; stop it before resuming")
    if state == "finished":
        raise BadInput(f"run {folder.name} already finished")
    config = folder.load_config()  # a damaged config is named first
    if state == "failed" and not resumable(state, folder.path, run_summary(folder.path).get("step")):
        reason = status.get("message") or "it failed"
        raise BadInput(f"run {folder.name} failed before its first training step ({reason}); resuming would "
                       "fail the same way: fix the input and start a new run")
    config.out = str(folder.path)
    return start_run(config, resume=True)


class DeviceLock:
    """Exclusive lock on the machine's training slot, released by the OS if the process dies."""

    def __init__(self):
        runs_root().mkdir(parents=True, exist_ok=True)
        self.path = runs_root() / ".device.lock"
        self.handle = None

    def acquire(self, should_stop=lambda: False, poll: float = 0.5) -> bool:
        import fcntl

        self.handle = open(self.path, "a+")
        while True:
            try:
                fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if should_stop():
                    return False
                time.sleep(poll)

    def release(self) -> None:
        if self.handle:
            self.handle.close()
            self.handle = None


def request_stop(run: str | Path) -> None:
    """Ask a run to stop: the engine sees the STOP file within one step, saves a checkpoint, and
    marks the run stopped. A queued run is stopped before it starts."""
    folder = RunFolder.find(run)
    status = folder.status()
    if status.get("state") not in ("running", "queued"):
        # A STOP file left in a finished or stopped run would stop its next resume at once.
        raise BadInput(f"run {folder.name} is {status.get('state')}; there is nothing to stop")
    folder.request_stop()
    pid = status.get("pid")
    if _pid_alive(pid):
        try:
            os.kill(int(pid), signal.SIGUSR1)  # wakes a sleeping queued worker; the engine also polls
        except (ProcessLookupError, PermissionError):
            pass


def delete_run(run: str | Path) -> None:
    folder = RunFolder.find(run)
    status = folder.status()
    if status.get("state") in ("running", "queued"):
        raise BadInput(f"run {folder.name} is {status['state']}; stop it first")
    if not folder.looks_like_a_run():
        raise BadInput(f"{folder.path} does not look like a bertlab run folder; not deleting it")
    shutil.rmtree(folder.path)
