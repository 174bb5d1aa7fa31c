"""Run folders and the worker processes that train in them.

A run folder (`runs/<run-id>/` or the `--out` folder) holds:
  run_config.json   the full TrainConfig
  status.json       {"state": queued|running|finished|failed|stopped|interrupted, "message", "pid", ...}
  events.jsonl      one flat JSON object per line, written by the engine
  checkpoints/step-N/  complete checkpoints (a COMPLETE marker is written last; folders without it are ignored)
  final/            save_pretrained folder: weights + tokenizer, loadable by plain transformers
  results.json      final metrics
  STOP              present = a stop was requested

The page never trains: `start_run` writes the config and launches `python -m bertlab worker RUN`
in its own process session, so closing the tab or restarting the page does not kill or orphan it.
One run trains at a time per machine: workers take an exclusive file lock (`runs/.device.lock`)
and wait, as "queued", until it is free; the OS releases the lock if a worker dies.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from .errors import BadInput
from .events import SUMMARY_METRICS

STATES = ("queued", "running", "finished", "failed", "stopped", "interrupted")


def runs_root() -> Path:
    from .models import runs_root as root

    return root()


# ------------------------------------------------------------------------------ atomic files


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def read_json(path: str | Path, default: Any = None) -> Any:
    """The file's JSON, or `default` when it is missing, unreadable or not JSON (random bytes
    included: UnicodeDecodeError is a ValueError)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


def read_json_object(path: str | Path) -> tuple[dict[str, Any], str]:
    """(the file's JSON object, "") or ({}, what is wrong with it). A run folder's files can be
    damaged (a full disk, a crash, a hand edit): readers show the damage instead of failing."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, f"{path.name} is missing"
    except OSError as exc:
        return {}, f"{path.name} cannot be read ({exc.strerror or exc})"
    except ValueError:
        return {}, f"{path.name} is not valid JSON"
    if not isinstance(data, dict):
        return {}, f"{path.name} holds a {type(data).__name__}, not a JSON object"
    return data, ""


# ------------------------------------------------------------------------------ run folders


def new_run_id(task: str) -> str:
    return time.strftime("%Y%m%d-%H%M%S") + f"-{task}-{uuid.uuid4().hex[:4]}"


def run_dir(run: str | Path) -> Path:
    """A run id (under runs/) or a path to a run folder."""
    path = Path(run)
    if path.is_dir():
        return path
    candidate = runs_root() / str(run)
    if candidate.is_dir():
        return candidate
    raise BadInput(f"run {run!r} not found (looked for a folder {path} and {candidate})")


def prepare_run_dir(config) -> Path:
    """Create the run folder for `config` and write run_config.json + status queued."""
    out = Path(config.out) if config.out else runs_root() / new_run_id(config.task)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise BadInput(f"cannot write to the output folder {out}: {exc.strerror or exc}") from None
    config.out = str(out)
    config.save(out / "run_config.json")
    return out


def write_status(folder: str | Path, state: str, message: str = "", **extra) -> None:
    assert state in STATES, state
    folder = Path(folder)
    status = read_json(folder / "status.json", {}) or {}
    status.update(extra)
    status.update({"state": state, "message": message, "updated": time.time()})
    status.setdefault("created", time.time())
    atomic_write_json(folder / "status.json", status)


def _pid_alive(pid: int | None) -> bool:
    try:
        pid = int(pid)
    except (TypeError, ValueError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (our own exited child not yet reaped) counts as dead.
    try:
        with open(f"/proc/{int(pid)}/stat", encoding="ascii") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def read_status(folder: str | Path) -> dict[str, Any]:
    """status.json, with a running/queued run whose process is gone reported as interrupted."""
    folder = Path(folder)
    status = read_json(folder / "status.json")
    if not isinstance(status, dict) or status.get("state") not in STATES:
        if (folder / "run_config.json").exists() or status is not None:
            return {"state": "interrupted", "message": "status.json is missing or corrupt"}
        return {"state": "unknown", "message": "not a run folder"}
    if status["state"] in ("running", "queued") and status.get("pid") and not _pid_alive(status.get("pid")):
        status = dict(status, state="interrupted",
                      message="the training process ended without finishing (killed?); resume it to "
                              "continue from its last complete checkpoint")
    return status


def read_events(folder: str | Path, tail: int | None = None) -> list[dict[str, Any]]:
    path = Path(folder) / "events.jsonl"
    try:
        # Damaged bytes must not hide the rest of the file: they decode to U+FFFD and that line is skipped.
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    if tail:
        lines = lines[-tail:]
    events = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a line being written right now, or a damaged one
        if isinstance(event, dict):
            events.append(event)
    return events


def complete_checkpoints(folder: str | Path) -> list[Path]:
    """Checkpoint folders with their COMPLETE marker, oldest first."""
    root = Path(folder) / "checkpoints"
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        if path.name.startswith("step-") and (path / "COMPLETE").exists():
            try:
                found.append((int(path.name.split("-", 1)[1]), path))
            except ValueError:
                continue
    return [p for _, p in sorted(found)]


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


def run_summary(folder: Path) -> dict[str, Any]:
    status = read_status(folder)
    config, config_problem = read_json_object(folder / "run_config.json")
    events = read_events(folder, tail=50)
    last = next((e for e in reversed(events) if e.get("type") == "train"), {})
    progress = next((e for e in reversed(events) if "step" in e), last)
    results, _ = read_json_object(folder / "results.json")
    row = {"run": folder.name, "path": str(folder), "state": status.get("state"),
           "message": status.get("message", ""), "task": config.get("task", "?"),
           "model": config.get("model") or "default", "step": progress.get("step"),
           "total_steps": progress.get("total_steps"), "loss": last.get("loss"),
           "has_final": (folder / "final" / "config.json").exists(), "created": status.get("created")}
    for key, _ in SUMMARY_METRICS:
        if key in results:
            row[key] = results[key]
    row["resumable"] = resumable(row["state"], folder, row["step"])
    if config_problem:
        row["damaged"] = config_problem
        row["message"] = f"damaged: {config_problem}" + (f"; {row['message']}" if row["message"] else "")
        row["task"] = row["model"] = "?"
    if row["state"] == "queued":
        row["queue_position"] = queue_position(folder)
    return row


def run_state(run: str | Path, tail: int = 2000) -> dict[str, Any]:
    folder = run_dir(run)
    return {"summary": run_summary(folder), "status": read_status(folder),
            "events": read_events(folder, tail=tail),
            "results": read_json_object(folder / "results.json")[0],
            "config": read_json_object(folder / "run_config.json")[0],
            "eval_details": read_json_object(folder / "eval_latest.json")[0],
            "data_summary": read_json_object(folder / "data_summary.json")[0]}


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


def start_run(config, resume: bool = False) -> str:
    """Write the run folder and launch its worker process; returns the run folder path."""
    folder = Path(config.out) if resume else prepare_run_dir(config)
    write_status(folder, "queued", "waiting for the machine", pid=None)
    log = open(folder / "worker.log", "ab")
    cmd = [sys.executable, "-m", "bertlab", "worker", str(folder)] + (["--resume"] if resume else [])
    from .launch import project_env

    env = project_env()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, env=env,
                            cwd=os.getcwd())
    log.close()
    write_status(folder, "queued", "waiting for the machine", pid=proc.pid)
    return str(folder)


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
    from .config import TrainConfig

    folder = run_dir(run)
    status = read_status(folder)
    state = status.get("state")
    if state in ("running", "queued"):
        raise BadInput(f"run {folder.name} is {state}; stop it before resuming")
    if state == "finished":
        raise BadInput(f"run {folder.name} already finished")
    config = TrainConfig.load(folder / "run_config.json")  # a damaged config is named first
    if state == "failed" and not resumable(state, folder, run_summary(folder).get("step")):
        reason = status.get("message") or "it failed"
        raise BadInput(f"run {folder.name} failed before its first training step ({reason}); resuming would "
                       "fail the same way: fix the input and start a new run")
    config.out = str(folder)
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
    folder = run_dir(run)
    status = read_status(folder)
    if status.get("state") not in ("running", "queued"):
        # A STOP file left in a finished or stopped run would stop its next resume at once.
        raise BadInput(f"run {folder.name} is {status.get('state')}; there is nothing to stop")
    (folder / "STOP").write_text(str(time.time()))
    pid = status.get("pid")
    if _pid_alive(pid):
        try:
            os.kill(int(pid), signal.SIGUSR1)  # wakes a sleeping queued worker; the engine also polls
        except (ProcessLookupError, PermissionError):
            pass


def delete_run(run: str | Path) -> None:
    folder = run_dir(run)
    status = read_status(folder)
    if status.get("state") in ("running", "queued"):
        raise BadInput(f"run {folder.name} is {status['state']}; stop it first")
    if not (folder / "run_config.json").exists() and not (folder / "status.json").exists():
        raise BadInput(f"{folder} does not look like a bertlab run folder; not deleting it")
    shutil.rmtree(folder)
