"""The fast inference path: ONNX Runtime on a cached export, PyTorch until it is ready.

fill-mask and classification ask `prepare(loaded, head)` for a runner on every call. The first
call for a model starts a background thread and returns None, so PyTorch answers at once; the
thread finds the model's export in the cache (or has `python -m bertlab.inference.onnx_export` write it, in
its own niced process, fused for ONNX Runtime: onnx_export.fuse_for_ort), opens an ONNX Runtime
session, checks on a probe input that it gives PyTorch's answers (probabilities within 1e-4, same
top-5) and only then makes it available.
Later calls get the runner. Anything that goes wrong (no onnxruntime, an architecture without a
graph, a failed export, a mismatch) is logged once and leaves the model on PyTorch. A one-shot CLI
call starts the export too: the export process outlives the call and the next call finds the file;
two processes that want the same export share one (a `.building` marker beside the file).

An export that passed that check gets a parity record beside it (parity.json: the head, the
tokenizer class and the few config values answering reads). On later starts
`load_checked` answers fill-mask and classification from such an export without importing torch
or reading the weights (the page serves in about half the time); anything that needs the
PyTorch model (attention maps, explanations, a model never checked) loads it as before.

Cache: $BERTLAB_CACHE/onnx/<key>/model.onnx (default ~/.cache/bertlab), where the key hashes the
model's identity (name, folder, overlay) with the size and time of every file in its folders,
the head, bertlab's graph format and the torch and onnxruntime versions: a retrained run or a
new release exports anew. Each export is 50-100 MB, and every fine-tuned run a user opens adds
one, so the cache keeps to a budget ($BERTLAB_ONNX_CACHE_MB, default 2048; 0 keeps only the newest
export): after each new export (by the exporting process, so a one-shot CLI call's export counts
too) the least recently used entries go first, never the one just built or one being exported.
An entry's folder time is refreshed when a process loads it and, while it answers, every ten
minutes. A process that loses its export to another's pruning keeps answering from the session it
has open; the next start exports again. BERTLAB_FAST_INFERENCE=0 turns the fast path off.

Attention views (bertlab.inference.attention) and explanations keep using PyTorch; the masked-LM graph
still returns the mask rows' last-layer attention that fill-mask's heat strip shows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import threading
import weakref
from pathlib import Path

from ..errors import BadInput

ENV = "BERTLAB_FAST_INFERENCE"
CACHE_BUDGET_ENV = "BERTLAB_ONNX_CACHE_MB"
DEFAULT_CACHE_BUDGET_MB = 2048
TOLERANCE = 1e-4  # largest allowed probability difference from PyTorch on the probe
EXPORT_TIMEOUT_S = 900

log = logging.getLogger("bertlab.inference.fast_inference")
_logged: set[str] = set()
_lock = threading.Lock()
# model object -> _Entry; an entry goes when the service's LRU drops the model.
_entries: "weakref.WeakKeyDictionary[object, _Entry]" = weakref.WeakKeyDictionary()


def enabled() -> bool:
    """On unless BERTLAB_FAST_INFERENCE turns it off, and only where answers are computed on the CPU
    (ONNX Runtime's CPU provider; on a GPU, PyTorch there answers: bertlab.modeling.registry.inference_device)."""
    if os.environ.get(ENV, "1").strip().lower() in ("0", "false", "off", "no"):
        return False
    from ..modeling.registry import inference_device

    try:
        return inference_device() == "cpu"
    except BadInput:
        return False  # the model's load reports the bad device


def _on_cpu(model) -> bool:
    """A model a library caller put on a GPU (load_model(device=...)) is answered by PyTorch there,
    whatever BERTLAB_DEVICE says: the export and its parity check run on CPU models only."""
    device = getattr(model, "device", None)
    return device is None or getattr(device, "type", "cpu") == "cpu"


def _log_once(message: str) -> None:
    with _lock:
        if message in _logged:
            return
        _logged.add(message)
    log.warning(message)


MAX_LANES = 4


def _cores() -> int:
    """The threads to use: PyTorch's count when it is loaded (the same cores it would use), else
    one per physical core (ONNX Runtime's own default), within this process's CPU affinity."""
    if "torch" in sys.modules:
        return max(1, sys.modules["torch"].get_num_threads())
    try:
        allowed = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        allowed = os.cpu_count() or 1
    try:
        import psutil

        physical = psutil.cpu_count(logical=False) or allowed
    except ImportError:
        physical = allowed
    return max(1, min(allowed, physical))


class OrtRunner:
    """One ONNX Runtime session over an exported graph; thread-safe (sessions are).

    lanes > 1 lets a caller with many batches (classifying a file) run one batch per core side by
    side, through a second session with one intra-op thread opened on first use (`classify(enc,
    lane=True)`; each run then works on its calling thread). For the small batches of short
    sentences this measured 15-25% more rows/s on 2 cores than each batch on both cores, whose
    threads spend much of each small operator waiting for one another. Lanes are one thread each,
    so they are only used up to MAX_LANES cores (beyond, runs sharing one session's thread pool
    would leave cores idle; not measured). A single text keeps the all-cores session (its latency
    measured 5.7 ms on one thread against 4.3 ms on two, and 80 against 55 ms at 222 tokens).
    `release_lanes` closes the second session (a second copy of the weights) when a file is done."""

    def __init__(self, path: str | Path, threads: int | None = None, lanes: int = 1):
        self.path = str(path)
        self.threads = max(1, int(threads)) if threads else _cores()
        self.lanes = min(max(1, int(lanes)), self.threads) if self.threads <= MAX_LANES else 1
        self.session = self._open(self.threads)
        self.inputs = [i.name for i in self.session.get_inputs()]
        self._lane_session = None
        self._lane_users = 0
        self._lane_lock = threading.Lock()

    def _open(self, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        return ort.InferenceSession(self.path, options, providers=["CPUExecutionProvider"])

    def lane_session(self):
        """The one-thread session that batches share side by side; opened on first use."""
        with self._lane_lock:
            if self._lane_session is None:
                self._lane_session = self._open(1)
            return self._lane_session

    def hold_lanes(self) -> None:
        """A caller starts running batches in lanes (release_lanes when done)."""
        with self._lane_lock:
            self._lane_users += 1

    def release_lanes(self) -> None:
        """A caller is done with its lanes; the last one out closes the lane session (memory)."""
        with self._lane_lock:
            self._lane_users = max(0, self._lane_users - 1)
            if self._lane_users == 0:
                self._lane_session = None

    def masked_lm(self, ids: list[int], positions: list[int]):
        """(logits (M, V), attention (M, T)) as numpy arrays, like mlm_forward.torch_forward's."""
        import numpy as np

        logits, att = self.session.run(None, {"input_ids": np.asarray([ids], dtype=np.int64),
                                              "positions": np.asarray(positions, dtype=np.int64)})
        return logits, att

    def classify(self, enc, lane: bool = False) -> "np.ndarray":
        """Logits (B, num_labels) for a tokenizer's numpy batch (token types default to 0); `lane`:
        on the lanes' session, for one of several batches running side by side."""
        import numpy as np

        ids = np.asarray(enc["input_ids"], dtype=np.int64)
        feed = {"input_ids": ids,
                "attention_mask": np.asarray(enc.get("attention_mask", np.ones_like(ids)), dtype=np.int64),
                "token_type_ids": np.asarray(enc.get("token_type_ids", np.zeros_like(ids)), dtype=np.int64)}
        session = self.lane_session() if lane and self.lanes > 1 else self.session
        return session.run(None, feed)[0]


class _Entry:
    def __init__(self, head: str):
        self.head = head
        self.runner: OrtRunner | None = None
        self.done = threading.Event()
        self.error = ""
        self.touched = float("-inf")  # time.monotonic() of the last _touch_in_use


# ------------------------------------------------------------------------------------------ cache


def _files(folder: str) -> list[tuple[str, int, int]]:
    out = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_file():
                    st = entry.stat()
                    out.append((entry.name, st.st_size, st.st_mtime_ns))
    except OSError:
        pass
    return sorted(out)


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def cache_key(source, head: str) -> str:
    """Changes whenever the model's files, the head, the graph format, the runtimes or the rewriter change.
    Versions are read from the installed packages' metadata: computing the key imports neither."""
    from .onnx_export import FORMAT

    ident = {"format": FORMAT.get(head, 0), "head": head, "name": source.name, "kind": source.kind, "path": source.path,
             "overlay": source.overlay, "files": _files(source.path),
             "overlay_files": _files(source.overlay) if source.overlay else [],
             "torch": _version("torch"), "onnxruntime": _version("onnxruntime"),
             # the fusion rewriter (onnx_export.fuse_for_ort): a new release may fuse differently
             "onnxscript": _version("onnxscript"), "onnx_ir": _version("onnx_ir")}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:20]


def cache_path_root() -> Path:
    from ..data.tokenization import _cache_root

    return _cache_root() / "onnx"


def cache_path(source, head: str) -> Path:
    return cache_path_root() / f"{head}-{cache_key(source, head)}" / "model.onnx"


def _touch(entry_dir: Path) -> None:
    """Mark a cache entry as just used (its folder's mtime orders pruning)."""
    try:
        os.utime(entry_dir)
    except OSError:
        pass


def _cache_budget_bytes() -> int:
    import math

    raw = os.environ.get(CACHE_BUDGET_ENV, "").strip()
    try:
        megabytes = float(raw) if raw else float(DEFAULT_CACHE_BUDGET_MB)
    except ValueError:
        megabytes = float("nan")
    if not math.isfinite(megabytes) or megabytes < 0:  # a typo, "-1" or "inf": not a budget
        _log_once(f"bertlab: {CACHE_BUDGET_ENV}={raw!r} is not a number of megabytes (0 or more); "
                  f"keeping the ONNX cache to {DEFAULT_CACHE_BUDGET_MB} MB")
        megabytes = float(DEFAULT_CACHE_BUDGET_MB)
    return int(megabytes * 1024 * 1024)


def prune_cache(keep: Path | None = None) -> list[str]:
    """Delete the least recently used exports until the cache fits its budget; returns the folders
    removed. `keep` (the entry just built) and entries with an export under way stay (a marker
    older than the export timeout is a dead exporter's). Only folders named like cache entries
    (<head>-<20 hex digits>) are ever touched."""
    import re
    import shutil
    import time

    def exporting(folder: Path) -> bool:
        for marker in folder.glob("*.building"):
            try:
                if time.time() - marker.stat().st_mtime < EXPORT_TIMEOUT_S:
                    return True
            except OSError:
                continue
        return False

    root = cache_path_root()
    budget = _cache_budget_bytes()
    pattern = re.compile(r"^(masked-lm|classification)-[0-9a-f]{20}$")
    entries = []
    try:
        folders = [f for f in root.iterdir() if f.is_dir() and pattern.match(f.name)]
    except OSError:
        return []
    for folder in folders:
        try:
            size = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
            entries.append((folder.stat().st_mtime, folder, size))
        except OSError:
            continue  # removed by another process meanwhile
    total = sum(size for _, _, size in entries)
    removed = []
    for _, folder, size in sorted(entries, key=lambda e: e[0]):  # oldest use first
        if total <= budget:
            break
        if keep is not None and folder.resolve() == keep.resolve():
            continue
        if exporting(folder):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            total -= size
            removed.append(folder.name)
    if removed:
        log.info("ONNX cache over %d MB: removed %d least recently used export(s): %s",
                 budget // (1024 * 1024), len(removed), ", ".join(removed))
    return removed


def _model_ref(source) -> str:
    """What `python -m bertlab.inference.onnx_export --model` loads: a default by name, anything else by folder."""
    return source.name if source.kind == "default" else source.path


# ------------------------------------------------------------------------------------------ build


def _export_once(source, head: str, path: Path) -> None:
    """Export into the cache unless another process (the page, a CLI call) is exporting the same
    model right now: then wait for its file. A marker beside the file says who is at it."""
    import time

    marker = path.with_name(path.name + ".building")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        try:
            stale = time.time() - marker.stat().st_mtime > EXPORT_TIMEOUT_S
        except OSError:
            stale = True
        if not stale:
            while marker.exists() and not path.exists():
                time.sleep(1.0)
            if path.exists():
                return
        marker.unlink(missing_ok=True)
        fd = os.open(marker, os.O_CREAT | os.O_WRONLY)
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    try:
        _export_in_subprocess(source, head, path)
    finally:
        marker.unlink(missing_ok=True)


def _export_in_subprocess(source, head: str, path: Path) -> None:
    from ..training.launch import project_env

    cmd = [sys.executable, "-m", "bertlab.inference.onnx_export", "--model", _model_ref(source), "--head", head,
           "--out", str(path), "--fuse"]
    # Niced: the export competes with live answers for the same cores and is never urgent. Its
    # output goes to a file, not a pipe, so it finishes even when a one-shot CLI call has exited.
    log_path = path.with_name("export.log")
    with open(log_path, "wb") as log_file:
        proc = subprocess.run(cmd, env=project_env(), stdout=log_file, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, timeout=EXPORT_TIMEOUT_S,
                              preexec_fn=(lambda: os.nice(5)) if hasattr(os, "nice") else None)
    if proc.returncode != 0 or not path.exists():
        lines = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        raise RuntimeError(f"the export exited with {proc.returncode}: {(lines or ['no output'])[-1][:300]} "
                           f"(log: {log_path})")


def _probe_texts(tokenizer) -> list[str]:
    mask = getattr(tokenizer, "mask_token", None) or "[MASK]"
    return [f"the {mask} sat on the mat with a {mask} .", "a short one", "the second text is longer than the first"]


def check_parity(loaded, head: str, runner: OrtRunner) -> str:
    """'' when the runner gives PyTorch's answer on a probe input, else what differs."""
    import numpy as np
    import torch

    from .mlm_forward import torch_forward
    from .probabilities import softmax, top_k

    tokenizer, model = loaded.tokenizer, loaded.model
    texts = _probe_texts(tokenizer)
    if head == "masked-lm":
        ids = tokenizer(texts[0])["input_ids"]
        positions = [i for i, t in enumerate(ids) if t == tokenizer.mask_token_id] or [1]
        ref_logits, ref_att = torch_forward(model, ids, positions, attention=True)
        got_logits, got_att = runner.masked_lm(ids, positions)
        ref, got = softmax(ref_logits.float().numpy()), softmax(got_logits)
        if ref_att is not None and float(np.abs(ref_att.float().numpy() - got_att).max()) > TOLERANCE:
            return "attention differs"
    else:
        enc = tokenizer(texts[1:], [texts[2], texts[1]], padding=True, return_tensors="pt")
        with torch.inference_mode():
            ref = softmax(model(**enc).logits.float().numpy())
        got = softmax(runner.classify({k: v.numpy() for k, v in enc.items()}))
    diff = float(np.abs(ref - got).max())
    k = min(5, ref.shape[-1])
    if not diff <= TOLERANCE:  # NaN fails too
        return f"probabilities differ by {diff:.2e}"
    if not np.array_equal(top_k(ref, k)[0], top_k(got, k)[0]):
        return "the top-k order differs"
    return ""


# What answering needs of a model's config; the parity record keeps it, so that an export already
# checked against PyTorch answers without loading PyTorch or the weights (see load_checked).
_CONFIG_KEYS = ("model_type", "max_position_embeddings", "pad_token_id", "vocab_size", "num_labels",
                "id2label", "label2id")
PARITY_FILE = "parity.json"


def _file_stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def _write_parity_record(loaded, head: str, path: Path) -> None:
    from ..files import atomic_write_json

    config = loaded.model.config
    kept = {k: getattr(config, k) for k in _CONFIG_KEYS if getattr(config, k, None) is not None}
    if "id2label" in kept:
        kept["id2label"] = {str(i): str(n) for i, n in kept["id2label"].items()}
    if head != "classification":
        for key in ("id2label", "label2id", "num_labels"):
            kept.pop(key, None)
    atomic_write_json(path.with_name(PARITY_FILE), {
        "head": head, "model": getattr(loaded.source, "name", ""), "tolerance": TOLERANCE,
        # The class AutoTokenizer chose: loaded directly next time (AutoTokenizer imports torch).
        "tokenizer_class": type(loaded.tokenizer).__name__,
        "onnx_file": _file_stamp(path),  # the very file that was checked
        "checked": "probabilities within the tolerance of PyTorch and the same top-5 on the probe",
        "config": kept})


def _lanes(head: str) -> int:
    """Classification answers whole files (throughput: lanes); fill-mask one sentence (latency)."""
    return MAX_LANES if head == "classification" else 1


class ExportedModel:
    """Stands in for a PyTorch model when a checked export answers on its own: only the config
    values that answering reads. Its runner is registered like any ready fast path (`ready`), so
    fill-mask and classification find it unchanged. It has no weights; attention maps and
    explanations load the PyTorch model instead (Service.model with exported_ok=False)."""

    def __init__(self, config: dict):
        from types import SimpleNamespace

        self.config = SimpleNamespace(**config)


def load_checked(source, head: str):
    """A LoadedModel answering through ONNX Runtime alone when this exact model (same files, head,
    graph format and runtime versions: the cache key) was exported and checked against PyTorch
    before; else None. Imports neither torch nor the model's weights."""
    if not enabled():
        return None
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return None
    path = cache_path(source, head)
    try:
        record = json.loads(path.with_name(PARITY_FILE).read_text(encoding="utf-8"))
        if record.get("head") != head or record.get("onnx_file") != _file_stamp(path):
            return None  # another head's record, or the export was replaced after the check
        runner = OrtRunner(path, lanes=_lanes(head))
    except Exception:  # no record, a broken one, or a file ONNX Runtime refuses: load PyTorch
        return None
    from ..modeling.registry import LoadedModel, load_source_tokenizer

    try:
        tokenizer = load_source_tokenizer(source, record.get("tokenizer_class") or None)
    except Exception:  # let the PyTorch load report what is wrong with the tokenizer
        return None
    model = ExportedModel(record.get("config") or {})
    entry = _Entry(head)
    entry.runner = runner
    entry.done.set()
    _touch_in_use(entry, runner)
    with _lock:
        _entries[model] = entry
    log.info("answering %s (%s) from its checked export: %s", source.name, head, path)
    return LoadedModel(tokenizer, model, source)


def load_for_answers(name: str | None, head: str, task: str):
    """What a one-shot CLI answer loads: the checked export when there is one (no torch import),
    else the PyTorch model (registry.load_model)."""
    from ..modeling import registry

    source = registry.resolve(name, task)
    return load_checked(source, head) or registry.load_model(name, head=head, task=task,
                                                             device=registry.inference_device())


def _build(loaded, head: str, entry: _Entry) -> None:
    name = getattr(loaded.source, "name", "?")
    try:
        import onnxruntime  # noqa: F401  (fail early and plainly when it is not installed)

        from .onnx_export import supported

        reason = supported(loaded.model, head)
        if reason:
            raise ValueError(reason)
        path = cache_path(loaded.source, head)
        if path.exists():
            _touch(path.parent)  # in use from now: another process's pruning passes it over
        else:
            source = loaded.source
            if source.kind == "local" and not (Path(source.path) / "config.json").is_file():
                # e.g. a model built in memory from a checkpoint's weights (benchmarks score those):
                # the exporter loads models from disk, so a child process would only fail.
                raise ValueError(f"{source.path} is not a save_pretrained folder the exporter can load")
            _export_once(source, head, path)
        runner = OrtRunner(path, lanes=_lanes(head))
        problem = check_parity(loaded, head, runner)
        if problem:
            path.with_name(PARITY_FILE).unlink(missing_ok=True)
            raise ValueError(f"the ONNX Runtime answer is not PyTorch's ({problem})")
        entry.runner = runner  # checked: it answers from its open session whatever happens to the file
        log.info("fast path ready for %s (%s): %s", name, head, path)
        try:
            _write_parity_record(loaded, head, path)  # its rename into the folder refreshes the folder's time
        except OSError as exc:  # pruned meanwhile by another process, or a full disk: no record, no harm
            _log_once(f"bertlab: no parity record for {name} ({head}): {type(exc).__name__}: {exc}")
    except Exception as exc:  # anything: PyTorch keeps answering
        entry.error = f"{type(exc).__name__}: {exc}"
        _log_once(f"bertlab: the ONNX Runtime fast path is off for {name} ({head}); PyTorch answers instead. "
                  f"{entry.error}")
    finally:
        entry.done.set()


def prepare(loaded, head: str, start: bool = True) -> OrtRunner | None:
    """The model's runner when ready; else None (and, with `start`, its build begins in the background)."""
    if not enabled() or loaded is None or not _on_cpu(loaded.model):
        return None
    model = loaded.model
    with _lock:
        entry = _entries.get(model)
        if entry is None:
            if not start:
                return None
            entry = _entries[model] = _Entry(head)
            threading.Thread(target=_build, args=(loaded, head, entry), name="bertlab-onnx-build",
                             daemon=True).start()
    runner = entry.runner
    if runner is not None:
        _touch_in_use(entry, runner)
    return runner


TOUCH_EVERY_S = 600


def _touch_in_use(entry: _Entry, runner: OrtRunner) -> None:
    """Keep an export that keeps answering out of other processes' pruning (every ten minutes)."""
    import time

    now = time.monotonic()
    if now - entry.touched >= TOUCH_EVERY_S:
        entry.touched = now
        _touch(Path(runner.path).parent)


def ready(model) -> OrtRunner | None:
    """The runner of an already prepared model object, else None; never starts anything."""
    if not enabled() or not _on_cpu(model):
        return None
    with _lock:
        entry = _entries.get(model)
    return entry.runner if entry is not None else None


def wait(loaded, head: str, timeout: float | None = None) -> OrtRunner | None:
    """Prepare and wait for the build to end (benchmarks, tests, `--fast wait`)."""
    prepare(loaded, head)
    with _lock:
        entry = _entries.get(loaded.model)
    if entry is None:
        return None
    entry.done.wait(timeout)
    return entry.runner


def status(model) -> dict:
    """{"state": off | not started | building | ready | failed, "error": ...} for logs and tests."""
    if not enabled():
        return {"state": "off", "error": ""}
    with _lock:
        entry = _entries.get(model)
    if entry is None:
        return {"state": "not started", "error": ""}
    if not entry.done.is_set():
        return {"state": "building", "error": ""}
    return {"state": "ready" if entry.runner else "failed", "error": entry.error}
