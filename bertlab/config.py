"""Configuration as dataclasses.

One `TrainConfig` describes any training run (fine-tuning or pre-training). The CLI, the page,
the examples and the tests all build this same object; it is written to `run_config.json` in the
run folder so a run can be resumed, inspected or repeated. Unknown keys are an error, so a typo in
a saved config never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BadInput
from .files import atomic_write_json


def setting(default, help: str, *, label: str = "", flag: str | None = "", minimum: float | None = None,
            maximum: float | None = None, above: float | None = None, choices: tuple[str, ...] = (),
            negate: bool = False):
    """A config field with what every front end needs to know about it: `help` (the CLI's help and
    the README), `label` (the page's form), bounds (`minimum`, `maximum`, `above` = strictly greater),
    `choices`, and its CLI flag ("" = --field-name, None = no flag; `negate`: a flag that sets a
    true-by-default switch off, such as --no-nsp)."""
    meta = {"help": help, "label": label, "flag": flag, "minimum": minimum, "maximum": maximum,
            "above": above, "choices": choices, "negate": negate}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class FinetuneConfig:
    """Where the labeled data comes from and how it is read."""

    train: str = setting("", "training file (CSV, TSV, JSONL or JSON list of records) with a text and a "
                         "label column")
    validation: str = setting("", "validation file (default: a stratified split of --train)")
    text_column: str = setting("", "text column (default: detected)")
    text_pair_column: str = setting("", "second text column for sentence pairs (default: detected; '-' = none)")
    label_column: str = setting("", "label column (default: detected)")
    validation_fraction: float = setting(0.1, "held out when no --validation", label="Validation fraction",
                                         above=0, maximum=0.5)
    max_length: int = setting(128, "tokens per example", label="Max length (tokens)", minimum=8, maximum=4096)
    max_train_samples: int = setting(0, "use only the first N training rows (0 = all)", label="Max train samples",
                                     minimum=0)


@dataclass
class PretrainConfig:
    """Raw text in, masked-LM (+ next-sentence) training examples out."""

    corpus: list[str] = setting([], "one or more UTF-8 (or GBK) text files")
    preset: str = setting("", "train from scratch with a size preset (layers x hidden)", choices=("",) + tuple(
        ["tiny", "mini", "small", "base"]))
    train_tokenizer: bool = setting(False, "train a new WordPiece vocabulary on the corpus (from scratch only)")
    tokenizer: str = setting("", "a vocabulary (folder, run, default-chinese): with --preset, the new model's; "
                             "with --model, the model's body gets new word embeddings for it (vocabulary transfer)")
    vocab_size: int = setting(8000, "size of a trained vocabulary", label="Vocabulary size", minimum=100,
                              maximum=500_000)
    lowercase: bool = setting(True, "keep case when training a tokenizer", flag="--cased", negate=True)
    nsp: bool = setting(True, "masked-LM only (RoBERTa-style), no next-sentence prediction", flag="--no-nsp",
                        negate=True)
    wwm: bool = setting(False, "whole-word masking (English ## pieces, Chinese jieba words)")
    max_seq_length: int = setting(128, "tokens per example", label="Max sequence length", minimum=16, maximum=4096)
    mlm_probability: float = setting(0.15, "share of tokens masked", above=0, maximum=1)
    short_seq_probability: float = setting(0.1, "share of examples cut shorter than max_seq_length", flag=None,
                                           minimum=0, maximum=1)
    sparse_mlm: bool = setting(True, "project every position through the vocabulary (slower; for comparison)",
                               flag="--dense-mlm", negate=True)
    dupe_factor: int = setting(1, "differently paired copies of the corpus", minimum=1)
    sample_sentences: list[str] = setting([], "sentences whose predictions are shown at each evaluation")


@dataclass
class TrainConfig:
    """Everything one training run needs; saved as run_config.json."""

    task: str = setting("finetune", "finetune | pretrain", flag=None, choices=("finetune", "pretrain"))
    model: str = setting("", "model name: default, a local folder, a finished run, or a hub id "
                         "(\"\" = the task's default)")
    out: str = setting("", "run folder (default runs/<run-id>)")
    # optimisation
    epochs: float = setting(1.0, "passes over the training data", label="Epochs", above=0, maximum=1000)
    max_steps: int = setting(0, "optimizer steps; overrides --epochs (0 = by epochs)", label="Max steps",
                             minimum=0, maximum=10_000_000)
    batch_size: int = setting(16, "examples per step and process", label="Batch size", minimum=1, maximum=4096)
    gradient_accumulation_steps: int = setting(1, "batches per optimizer step", minimum=1)
    lr: float = setting(5e-5, "peak learning rate", label="Learning rate", above=0, maximum=1.0)
    warmup: float = setting(0.1, "warm-up: a fraction of the steps (<1) or a number of steps", label="Warm-up",
                            minimum=0)
    weight_decay: float = setting(0.01, "AdamW weight decay", label="Weight decay", minimum=0, maximum=1)
    max_grad_norm: float = setting(1.0, "gradient clipping (0 = off)", minimum=0)
    seed: int = setting(42, "random seed (data order, initialisation, masking)", label="Seed", minimum=0)
    mixed_precision: str = setting("auto", "auto = bf16 on a GPU that supports it, fp32 on CPU",
                                   choices=("auto", "no", "bf16", "fp16"))
    # bookkeeping
    eval_every: int = setting(0, "evaluate every N steps (0 = every epoch)", label="Evaluate every (steps)",
                              minimum=0)
    log_every: int = setting(10, "write a train event every N steps", minimum=1)
    save_every: int = setting(0, "checkpoint every N steps (0 = at each evaluation)", minimum=0)
    keep_checkpoints: int = setting(2, "how many complete checkpoints to keep", minimum=1)
    max_minutes: float = setting(0.0, "time budget; the run ends cleanly with a checkpoint (0 = none)",
                                 label="Max minutes", minimum=0)
    early_stopping_patience: int = setting(0, "evaluations without improvement before stopping (0 = off)",
                                           label="Early-stopping patience", minimum=0)
    group_by_length: bool = setting(True, "batch examples of similar length together", flag=None)
    # -1 = train every weight; k >= 0 = freeze the embeddings and all but the top k encoder layers
    # (heads and pooler stay trainable). Cheaper steps, and a small set of changed weights to ship.
    trainable_layers: int = setting(-1, "train only the top K encoder layers + heads (-1 = all)", minimum=-1)
    # "train" = the word-embedding matrix trains with the rest (unless frozen above); "mask-row" =
    # it stays fixed except the [MASK] row. The matrix is 30k x hidden and an MLM decoder shares it,
    # so holding it keeps what a run changes small enough to ship, while the one token the encoder
    # sees at every masked position still learns what it stands for.
    word_embeddings: str = setting("train", "train | mask-row (keep the word-embedding matrix fixed except the "
                                   "[MASK] row)", choices=("train", "mask-row"))
    # "auto" = the word-embedding matrix is updated row by row (only the rows a batch uses; lazy Adam)
    # wherever that applies: fine-tuning on one process (training.embedding_rows says where not).
    # On a 2-core CPU that made whole fine-tuning steps ~1.15x faster (benchmarks/RESULTS.md).
    embedding_updates: str = setting("auto", "sparse: update only the word-embedding rows each batch uses (lazy "
                                     "Adam, no weight decay on them); dense: AdamW on the whole matrix; auto: "
                                     "sparse where it applies (fine-tuning on one process)",
                                     choices=("auto", "sparse", "dense"))
    # An accelerate config file (YAML/JSON, as `accelerate config` writes it): the run is started
    # under `accelerate launch --config_file` (several processes, GPUs or machines). "" = one process.
    accelerate_config: str = setting("", "run under `accelerate launch --config_file F` (several processes, "
                                     "GPUs or machines; see examples/accelerate/)")
    # "" = no tracker; "tensorboard" = also write the train/eval figures as TensorBoard event files in
    # RUN/tensorboard/ (accelerate's tracker; needs the tensorboard package). events.jsonl is always written.
    report_to: str = setting("", "tensorboard: also write TensorBoard event files to RUN/tensorboard/ (through "
                             "accelerate's tracker; off by default)", choices=("", "tensorboard"))
    # filled in by the engine, recorded for the reader of run_config.json
    num_processes: int = setting(1, "recorded: processes the run trained on", flag=None)
    distributed_type: str = setting("NO", "recorded: accelerate's distributed type", flag=None)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)

    @classmethod
    def for_task(cls, task: str) -> "TrainConfig":
        """A config with the task's defaults (TASK_DEFAULTS): what the CLI and the page start from."""
        if task not in TASK_DEFAULTS:
            raise BadInput(f"unknown task {task!r}; choose one of {', '.join(TASK_DEFAULTS)}")
        return apply_overrides(cls(task=task), **TASK_DEFAULTS[task])

    def validate(self) -> "TrainConfig":
        """Every value within its field's bounds and choices, then the task's own rules; BadInput
        names the field (by its page label where it has one). Returns the config."""
        for section, obj in (("", self), ("finetune.", self.finetune), ("pretrain.", self.pretrain)):
            for f in dataclasses.fields(obj):
                if "help" in f.metadata:
                    check_value(f, getattr(obj, f.name), section + f.name)
        TASK_RULES[self.task](self)
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        return _build(cls, data, "run config")

    def save(self, path: str | Path) -> None:
        atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> "TrainConfig":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BadInput(f"{path}: run config not found") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadInput(f"{path}: run config is not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise BadInput(f"{path}: run config must be a JSON object")
        return _build(cls, data, str(path))


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A run config as dotted keys: {"finetune": {"train": f}} -> {"finetune.train": f}; lists kept whole."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _build(cls, data: dict[str, Any], where: str):
    """Build a (nested) dataclass from a dict, refusing unknown keys."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise BadInput(f"{where}: unknown key(s) {', '.join(unknown)} in {cls.__name__}")
    kwargs = {}
    for name, value in data.items():
        default = getattr(cls(), name)
        if dataclasses.is_dataclass(default):
            if not isinstance(value, dict):
                raise BadInput(f"{where}: {name} must be an object")
            value = _build(type(default), value, where)
        kwargs[name] = value
    return cls(**kwargs)


def apply_overrides(config: TrainConfig, **overrides: Any) -> TrainConfig:
    """Return a copy with the given top-level or `section.key` values replaced (None = keep)."""
    data = config.to_dict()
    for key, value in overrides.items():
        if value is None:
            continue
        section, _, name = key.rpartition(".")
        target = data[section] if section else data
        if name not in target:
            raise BadInput(f"unknown setting {key}")
        target[name] = value
    return TrainConfig.from_dict(data)


# ------------------------------------------------------------------------------ defaults and presets

# Each task's defaults, where they differ from the dataclasses' (the one place they are set: the
# CLI's flags, the page's forms and the README's table read them).
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    # Small data on a CPU: a few epochs' worth of signal at a moderate learning rate. lr 1e-4: on the
    # first 3,000 SST-2 rows, one epoch reached 0.830 dev accuracy against 0.800 at 5e-5.
    "finetune": {"epochs": 3.0, "lr": 1e-4},
    "pretrain": {"batch_size": 32, "lr": 1e-4, "warmup": 0.06, "eval_every": 50},
}

# Size presets for pre-training from scratch: layers, hidden, heads (intermediate = 4 x hidden),
# and the learning rate and batch size that make short CPU runs of that size learn.
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"layers": 2, "hidden": 128, "heads": 2, "lr": 1e-3, "batch_size": 32},
    "mini": {"layers": 4, "hidden": 256, "heads": 4, "lr": 7e-4, "batch_size": 32},
    "small": {"layers": 4, "hidden": 512, "heads": 8, "lr": 5e-4, "batch_size": 32},
    "base": {"layers": 12, "hidden": 768, "heads": 12, "lr": 1e-4, "batch_size": 32},
}

# The pre-training form's first run: a tiny model from scratch with its own small vocabulary, a
# few minutes on a CPU (the preset's learning rate and batch size apply too).
QUICK_START: dict[str, Any] = {"pretrain.preset": "tiny", "pretrain.train_tokenizer": True,
                               "pretrain.vocab_size": 3000, "max_steps": 150}


def quick_start() -> TrainConfig:
    """The pre-training form's starting values: the task's defaults, QUICK_START and its preset's."""
    return apply_preset(apply_overrides(TrainConfig.for_task("pretrain"), **QUICK_START))


def apply_preset(config: TrainConfig, given: set[str] = frozenset()) -> TrainConfig:
    """The size preset's learning rate and batch size, where the user set neither (`given`: the
    config keys set explicitly)."""
    preset = PRESETS.get(config.pretrain.preset)
    if preset:
        for key in ("lr", "batch_size"):
            if key not in given:
                setattr(config, key, preset[key])
    return config


# ------------------------------------------------------------------------------ checks


def field_of(key: str) -> dataclasses.Field:
    """The dataclass field of a config key ("lr", "finetune.max_length")."""
    section, _, name = key.rpartition(".")
    cls = {"": TrainConfig, "finetune": FinetuneConfig, "pretrain": PretrainConfig}.get(section)
    fields = {f.name: f for f in dataclasses.fields(cls)} if cls else {}
    if name not in fields:
        raise BadInput(f"unknown setting {key}")
    return fields[name]


def check_value(f: dataclasses.Field, value, key: str | None = None):
    """`value` for field `f` as its type (a number from a form's text too), or BadInput naming the
    field and what is allowed."""
    meta, name = f.metadata, f.metadata.get("label") or (key or f.name)
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    if kind in ("int", "float"):
        value = _number(value, name, integer=kind == "int")
        if meta.get("minimum") is not None and value < meta["minimum"]:
            raise BadInput(f"{name}: {value!r} is below the minimum {meta['minimum']:g}")
        if meta.get("maximum") is not None and value > meta["maximum"]:
            raise BadInput(f"{name}: {value!r} is above the maximum {meta['maximum']:g}")
        if meta.get("above") is not None and value <= meta["above"]:
            raise BadInput(f"{name}: {value!r} must be greater than {meta['above']:g}")
    elif kind == "bool":
        value = bool(value)
    elif kind == "str":
        value = "" if value is None else str(value)
        if meta.get("choices") and value not in meta["choices"]:
            shown = ", ".join(c for c in meta["choices"] if c)
            raise BadInput(f"{name}: {value!r} is not one of {shown}")
    return value


def _number(value, name: str, integer: bool):
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise BadInput(f"{name}: enter a number")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise BadInput(f"{name}: {value!r} is not a number") from None
    if not math.isfinite(x):
        raise BadInput(f"{name}: {value!r} is not a finite number")
    if integer:
        if x != int(x):
            raise BadInput(f"{name}: {value!r} must be a whole number")
        return int(x)
    return x


def _check_finetune(config: TrainConfig) -> None:
    if not config.finetune.train:
        raise BadInput("fine-tuning needs a training file (--train FILE; on the page: upload one, or pick "
                       "example data)")


def _check_pretrain(config: TrainConfig) -> None:
    p = config.pretrain
    if not p.corpus:
        raise BadInput("pre-training needs a corpus (--corpus FILE [FILE ...]; on the page: tick an example "
                       "corpus or upload one or more text files)")
    if p.tokenizer and p.train_tokenizer:
        raise BadInput("give either --tokenizer (an existing vocabulary) or --train-tokenizer (a new one), not both")
    if p.train_tokenizer and not p.preset:
        # A new vocabulary would renumber every token under the model's learned embeddings.
        raise BadInput("a new WordPiece vocabulary (--train-tokenizer) only fits a model trained from scratch "
                       "(--preset); continued pre-training keeps the model's own vocabulary")
    if p.preset and not (p.train_tokenizer or p.tokenizer or config.model):
        raise BadInput("from scratch (--preset) the model needs a vocabulary: train a new WordPiece tokenizer "
                       "(--train-tokenizer), or reuse one (--tokenizer NAME, e.g. default-chinese)")


TASK_RULES = {"finetune": _check_finetune, "pretrain": _check_pretrain}


def defaults_table() -> str:
    """The README's table of settings: flag, default (per task where they differ), what it does."""
    ft, pt = TrainConfig.for_task("finetune"), TrainConfig.for_task("pretrain")
    rows = ["| flag | fine-tuning | pre-training | what it sets |", "|---|---|---|---|"]
    for section in ("", "finetune.", "pretrain."):
        cls = {"": TrainConfig, "finetune.": FinetuneConfig, "pretrain.": PretrainConfig}[section]
        for f in dataclasses.fields(cls):
            if "help" not in f.metadata or f.metadata["flag"] is None:
                continue
            key = section + f.name
            flag = cli_flag(f)
            shown = [_shown_default(_get(c, key), f) for c in (ft, pt)]
            if section == "finetune.":
                shown[1] = ""
            if section == "pretrain.":
                shown[0] = ""
            rows.append(f"| `{flag}` | {shown[0]} | {shown[1]} | {f.metadata['help'].replace('|', '/')} |")
    return "\n".join(rows)


def cli_flag(f: dataclasses.Field) -> str:
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def _get(config: TrainConfig, key: str):
    section, _, name = key.rpartition(".")
    return getattr(getattr(config, section) if section else config, name)


def _shown_default(value, f: dataclasses.Field) -> str:
    if f.metadata.get("negate"):
        return "off" if value else "on"
    if isinstance(value, bool):
        return "on" if value else "off"
    if value in ("", []):
        return "—"
    return f"`{value:g}`" if isinstance(value, float) else f"`{value}`"
