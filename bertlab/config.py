"""Configuration as dataclasses.

One `TrainConfig` describes any training run (fine-tuning or pre-training). The CLI, the page,
the examples and the tests all build this same object; it is written to `run_config.json` in the
run folder so a run can be resumed, inspected or repeated. Unknown keys are an error, so a typo in
a saved config never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BadInput


@dataclass
class FinetuneConfig:
    """Where the labeled data comes from and how it is read."""

    train: str = ""  # CSV / TSV / JSONL / JSON file with a text and a label column
    validation: str = ""  # optional; without it a stratified split of `train` is used
    text_column: str = ""  # "" = detect
    text_pair_column: str = ""  # "" = detect (sentence pairs such as MRPC/RTE), "-" = none
    label_column: str = ""  # "" = detect
    validation_fraction: float = 0.1
    max_length: int = 128
    max_train_samples: int = 0  # 0 = all rows


@dataclass
class PretrainConfig:
    """Raw text in, masked-LM (+ next-sentence) training examples out."""

    corpus: list[str] = field(default_factory=list)
    preset: str = ""  # tiny | mini | small | base: train from scratch with that size
    train_tokenizer: bool = False
    tokenizer: str = ""  # with a preset: reuse this vocabulary (a folder, a run, default-chinese)
    vocab_size: int = 8000
    lowercase: bool = True
    nsp: bool = True
    wwm: bool = False  # whole-word masking (English ## pieces, Chinese jieba words)
    max_seq_length: int = 128
    mlm_probability: float = 0.15
    short_seq_probability: float = 0.1
    sparse_mlm: bool = True  # vocabulary projection only on masked positions
    dupe_factor: int = 1  # how many differently-paired copies of the corpus to build
    sample_sentences: list[str] = field(default_factory=list)  # shown with predictions at eval


@dataclass
class TrainConfig:
    """Everything one training run needs; saved as run_config.json."""

    task: str = "finetune"  # "finetune" | "pretrain"
    model: str = ""  # "" = the task's default (see bertlab.models.TASK_DEFAULTS)
    out: str = ""  # run folder; "" = runs/<run-id>
    # optimisation
    epochs: float = 1.0
    max_steps: int = 0  # > 0 overrides epochs
    batch_size: int = 16
    gradient_accumulation_steps: int = 1
    lr: float = 5e-5
    warmup: float = 0.1  # < 1: fraction of total steps; >= 1: number of steps
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    seed: int = 42
    mixed_precision: str = "auto"  # auto = bf16 on a GPU that supports it, fp32 on CPU
    # bookkeeping
    eval_every: int = 0  # steps; 0 = at the end of every epoch
    log_every: int = 10
    save_every: int = 0  # steps; 0 = at each evaluation
    keep_checkpoints: int = 2
    max_minutes: float = 0.0  # time budget; 0 = none
    early_stopping_patience: int = 0  # evaluations without improvement; 0 = off
    group_by_length: bool = True
    # -1 = train every weight; k >= 0 = freeze the embeddings and all but the top k encoder layers
    # (heads and pooler stay trainable). Cheaper steps, and a small set of changed weights to ship.
    trainable_layers: int = -1
    # "train" = the word-embedding matrix trains with the rest (unless frozen above); "mask-row" =
    # it stays fixed except the [MASK] row. The matrix is 30k x hidden and an MLM decoder shares it,
    # so holding it keeps what a run changes small enough to ship, while the one token the encoder
    # sees at every masked position still learns what it stands for.
    word_embeddings: str = "train"
    # An accelerate config file (YAML/JSON, as `accelerate config` writes it): the run is started
    # under `accelerate launch --config_file` (several processes, GPUs or machines). "" = one process.
    accelerate_config: str = ""
    # "" = no tracker; "tensorboard" = also write the train/eval figures as TensorBoard event files in
    # RUN/tensorboard/ (accelerate's tracker; needs the tensorboard package). events.jsonl is always written.
    report_to: str = ""
    # filled in by the engine, recorded for the reader of run_config.json
    num_processes: int = 1
    distributed_type: str = "NO"
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        return _build(cls, data, "run config")

    def save(self, path: str | Path) -> None:
        from .runs import atomic_write_json

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
