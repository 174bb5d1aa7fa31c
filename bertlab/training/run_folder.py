"""One run folder and everything written in it; the only code that knows the files' names.

    runs/<run-id>/          (or the --out folder)
      run_config.json       the full TrainConfig (write_config is its one writer)
      status.json           {"state": queued|running|finished|failed|stopped|interrupted, "message", "pid", ...}
      events.jsonl          one flat JSON object per line (bertlab.training.events names the kinds and keys)
      data_summary.json     what the task made of the data
      eval_latest.json      fine-tuning: the latest evaluation's details (confusion matrix, ROC, hardest examples)
      checkpoints/step-N/   complete checkpoints (a COMPLETE marker is written last; folders without it are ignored)
      final/                save_pretrained folder: weights + tokenizer, loadable by plain transformers
      results.json          final metrics
      worker.log            a worker process's output (runs started from the page or with --background)
      data/<role>/<name>    uploads and accelerate configs staged for the run, under their own names
      STOP                  present = a stop was requested

Every JSON file is written whole (bertlab.files); events are appended a line at a time and read
incrementally by byte offset (EventReader), so a page polling a long run reads only what is new.
Torch-free: the page, the CLI and the engine all use this.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from ..errors import BadInput
from ..files import atomic_write_json, atomic_write_text, read_json, read_json_object

STATES = ("queued", "running", "finished", "failed", "stopped", "interrupted")


def runs_root() -> Path:
    """Where runs live: $BERTLAB_RUNS, else ./runs."""
    return Path(os.environ.get("BERTLAB_RUNS", "runs"))


def new_run_id(task: str) -> str:
    return time.strftime("%Y%m%d-%H%M%S") + f"-{task}-{uuid.uuid4().hex[:4]}"


class EventReader:
    """events.jsonl read incrementally: each `read()` parses only the bytes appended since the last
    one. A last line without its newline (the engine is writing it right now) is left for the next
    read; a file that was replaced or cut (a resume trims the events after its checkpoint) is read
    again from the start. `events` holds everything read so far."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.offset = 0
        self.identity: tuple[int, int] | None = None
        self.events: list[dict[str, Any]] = []

    def read(self, final: bool = False) -> list[dict[str, Any]]:
        """The events appended since the last call. `final=True` also takes a complete last line
        that lacks its newline (a one-off read of a file nobody is writing)."""
        try:
            with open(self.path, "rb") as handle:
                stat = os.fstat(handle.fileno())
                if (stat.st_ino, stat.st_dev) != self.identity or stat.st_size < self.offset:
                    self.identity, self.offset, self.events = (stat.st_ino, stat.st_dev), 0, []
                handle.seek(self.offset)
                data = handle.read()
        except OSError:
            return []
        end = data.rfind(b"\n") + 1
        if final and end < len(data):
            end = len(data)
        self.offset += end
        new = _parse_lines(data[:end])
        self.events.extend(new)
        return new


def _parse_lines(data: bytes) -> list[dict[str, Any]]:
    # Damaged bytes must not hide the rest of the file: they decode to U+FFFD and that line is skipped.
    events = []
    for line in data.decode("utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a damaged line
        if isinstance(event, dict):
            events.append(event)
    return events


class RunFolder:
    """A run folder: made once (`create`), found by id or path (`find`), and read or written only
    through these methods."""

    CONFIG, STATUS, EVENTS, RESULTS = "run_config.json", "status.json", "events.jsonl", "results.json"
    DATA_SUMMARY, EVAL_DETAILS, LOG, STOP = "data_summary.json", "eval_latest.json", "worker.log", "STOP"

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __fspath__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.path.name

    # ------------------------------------------------------------------ making and finding

    @classmethod
    def create(cls, task: str, out: str | Path = "") -> "RunFolder":
        """The folder `out` (made if missing), or a new runs/<run-id>; refused at once when it
        cannot be written, before any data is read or model loaded."""
        path = Path(out) if out else runs_root() / new_run_id(task)
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise BadInput(f"cannot write to the output folder {path}: {exc.strerror or exc}") from None
        return cls(path)

    @classmethod
    def find(cls, run: str | Path) -> "RunFolder":
        """A run id (under the runs root) or a path to a run folder."""
        path = Path(run)
        if path.is_dir():
            return cls(path)
        candidate = runs_root() / str(run)
        if candidate.is_dir():
            return cls(candidate)
        raise BadInput(f"run {run!r} not found (looked for a folder {path} and {candidate})")

    def looks_like_a_run(self) -> bool:
        return (self.path / self.CONFIG).exists() or (self.path / self.STATUS).exists()

    def stage(self, source: str | Path, role: str) -> str:
        """Copy a file into data/<role>/<its own name>: the run owns its data, a resume finds it
        after the page's upload cache is cleaned, and messages name the file as the user knows it."""
        src = Path(source)
        name = "".join(c if c.isprintable() and c not in "/\\" else "_" for c in src.name).lstrip(".") or "upload"
        target = self.path / "data" / role / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
        except OSError as exc:
            raise BadInput(f"cannot copy the uploaded file {src.name} into {self.path}: "
                           f"{exc.strerror or exc}") from None
        return str(target)

    def delete(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    # ------------------------------------------------------------------ config

    def write_config(self, config) -> None:
        """The one writer of run_config.json (a TrainConfig; its `out` is this folder)."""
        config.out = str(self.path)
        atomic_write_json(self.path / self.CONFIG, config.to_dict())

    def load_config(self):
        """The TrainConfig, or BadInput naming what is wrong with the file."""
        from ..config import TrainConfig

        return TrainConfig.load(self.path / self.CONFIG)

    def config_dict(self) -> tuple[dict[str, Any], str]:
        """(run_config.json as a dict, "") or ({}, what is wrong with it): for readers that show damage."""
        return read_json_object(self.path / self.CONFIG)

    # ------------------------------------------------------------------ status

    def write_status(self, state: str, message: str = "", **extra) -> None:
        assert state in STATES, state
        status = read_json(self.path / self.STATUS, {})
        status = status if isinstance(status, dict) else {}
        status.update(extra)
        status.update({"state": state, "message": message, "updated": time.time()})
        status.setdefault("created", time.time())
        atomic_write_json(self.path / self.STATUS, status)

    def status(self) -> dict[str, Any]:
        """status.json, with a running/queued run whose process is gone reported as interrupted."""
        status = read_json(self.path / self.STATUS)
        if not isinstance(status, dict) or status.get("state") not in STATES:
            if (self.path / self.CONFIG).exists() or status is not None:
                return {"state": "interrupted", "message": "status.json is missing or corrupt"}
            return {"state": "unknown", "message": "not a run folder"}
        if status["state"] in ("running", "queued") and status.get("pid") and not pid_alive(status.get("pid")):
            status = dict(status, state="interrupted",
                          message="the training process ended without finishing (killed?); resume it to "
                                  "continue from its last complete checkpoint")
        return status

    # ------------------------------------------------------------------ events

    def append_event(self, event: dict[str, Any]) -> None:
        with open(self.path / self.EVENTS, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(event, ensure_ascii=False) + "\n")

    def event_reader(self) -> EventReader:
        return EventReader(self.path / self.EVENTS)

    def events(self, tail: int | None = None) -> list[dict[str, Any]]:
        """Every event (the last `tail` with tail), damaged lines skipped."""
        events = self.event_reader().read(final=True)
        return events[-tail:] if tail else events

    def trim_events_after(self, step: int) -> None:
        """On resume: drop the events logged after the checkpoint the run goes back to."""
        if not (self.path / self.EVENTS).exists():
            return
        kept = [e for e in self.events() if e.get("step", 0) <= step]
        atomic_write_text(self.path / self.EVENTS, "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in kept))

    # ------------------------------------------------------------------ results and details

    def write_results(self, results: dict[str, Any]) -> None:
        atomic_write_json(self.path / self.RESULTS, results)

    def results(self) -> dict[str, Any]:
        return read_json_object(self.path / self.RESULTS)[0]

    def write_data_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_json(self.path / self.DATA_SUMMARY, summary)

    def data_summary(self) -> dict[str, Any]:
        return read_json_object(self.path / self.DATA_SUMMARY)[0]

    def write_eval_details(self, details: dict[str, Any]) -> None:
        """The latest evaluation's details beyond its numbers (confusion matrix, ROC, hardest examples)."""
        atomic_write_json(self.path / self.EVAL_DETAILS, details)

    def eval_details(self) -> dict[str, Any]:
        return read_json_object(self.path / self.EVAL_DETAILS)[0]

    def has_final_model(self) -> bool:
        return (self.path / "final" / "config.json").exists()

    # ------------------------------------------------------------------ checkpoints and stop

    def checkpoints(self) -> list[Path]:
        """Checkpoint folders with their COMPLETE marker, oldest first."""
        root = self.path / "checkpoints"
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

    def request_stop(self) -> None:
        (self.path / self.STOP).write_text(str(time.time()))

    def stop_requested(self) -> bool:
        return (self.path / self.STOP).exists()

    def clear_stop(self) -> None:
        (self.path / self.STOP).unlink(missing_ok=True)


def pid_alive(pid: int | None) -> bool:
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
