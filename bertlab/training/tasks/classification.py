"""Fine-tuning for sentence (and sentence-pair) classification.

A new linear layer reads the `[CLS]` vector (through BERT's pooler); all weights are updated with
cross-entropy loss. Labels keep their names in the model config (`id2label`/`label2id`). A BERT
classifier trains and evaluates through bertlab.modeling.first_token (the last layer for the
`[CLS]` row only: the same logits and gradients, ~14% fewer FLOPs on a 6-layer model).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import BadInput
from ...files import atomic_write_text
from .base import Task


def sort_labels(labels) -> list[str]:
    """Label names in class-id order (numbers numerically, else alphabetically, and for a binary
    task with a clear meaning -- negative/positive, 负面/正面 -- the positive class is id 1)."""
    from ...data.labeled import label_names

    return label_names(labels)


def load_finetune_data(config):
    """(train, validation) LabeledData exactly as a fine-tuning run will use them: columns detected
    or as chosen, the first N rows when asked, a stratified split without a validation file, and
    every validation label seen in training. Raises DataError naming the file (and row, column).
    The page calls it before it makes a run folder, so a file that cannot train never starts a run."""
    from ...data import labeled

    cfg = config.finetune
    if not cfg.train:
        raise BadInput("fine-tuning needs a training file (--train FILE)")
    train = labeled.load_labeled(cfg.train, cfg.text_column, cfg.text_pair_column, cfg.label_column)
    if cfg.validation:
        pair_col = train.text_pair_column or "-"
        validation = labeled.load_labeled(cfg.validation, train.text_column, pair_col, train.label_column)
        if cfg.max_train_samples:
            train = _head(train, cfg.max_train_samples)
    else:
        if cfg.max_train_samples:
            train = _head(train, cfg.max_train_samples)
        train, validation = labeled.stratified_split(train, cfg.validation_fraction, config.seed)
    labeled.check_validation_labels(train, validation)
    return train, validation


# Below these sizes a run's figures mislead: with 30 validation examples one example moves accuracy
# by 3 points, and a few dozen optimizer steps barely move a pre-trained model.
MIN_TRUSTED_VALIDATION = 50
MIN_USEFUL_STEPS = 100


def small_data_notes(config, n_train: int, n_validation: int) -> list[str]:
    """Plain warnings for small data sets: a validation set too small to trust, and too few steps
    to learn, with the number of epochs that would give about MIN_USEFUL_STEPS."""
    import math

    notes = []
    if n_validation < MIN_TRUSTED_VALIDATION:
        notes.append(f"only {n_validation} validation examples: each one moves accuracy by "
                     f"{100 / max(1, n_validation):.0f} points, so the metrics are rough; give a validation "
                     f"file or more rows for figures you can trust (≥ {MIN_TRUSTED_VALIDATION})")
    batch = max(1, config.batch_size * max(1, config.gradient_accumulation_steps))
    steps_per_epoch = max(1, math.ceil(n_train / batch))
    if config.max_steps:  # the user chose the number of steps (it overrides epochs)
        return notes
    steps = math.ceil(steps_per_epoch * config.epochs)
    if 0 < steps < MIN_USEFUL_STEPS:
        wanted = math.ceil(MIN_USEFUL_STEPS / steps_per_epoch)
        notes.append(f"{n_train} training examples give only {steps} optimizer steps "
                     f"({steps_per_epoch} per epoch × {config.epochs:g} epochs); small data sets usually need "
                     f"more passes: about {wanted} epochs give {wanted * steps_per_epoch} steps")
    return notes


def use_first_token_forward(model, accelerator=None) -> bool:
    """Make `model`'s own forward compute the last layer for the [CLS] row only, when
    first_token fits it (else nothing changes). Set on the instance rather than wrapped in another
    module: multi-process training must run the computation inside the forward that
    DistributedDataParallel calls, and the weights keep their names, so checkpoints, resumes and the
    saved model are as before. Not under FSDP or DeepSpeed: they gather a layer's sharded weights
    in hooks around that layer's own call, which the first-row computation does not make."""
    import types

    from accelerate.utils import DistributedType

    from ...modeling import first_token

    sharded = getattr(accelerator, "distributed_type", None) in (DistributedType.FSDP, DistributedType.DEEPSPEED)
    if sharded or first_token.fits(model) is not None:
        return False
    plain = type(model).forward

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, **other):
        if input_ids is None or any(v is not None for v in other.values()):  # e.g. inputs_embeds: as before
            return plain(self, input_ids=input_ids, attention_mask=attention_mask,
                         token_type_ids=token_type_ids, labels=labels, **other)
        from transformers.modeling_outputs import SequenceClassifierOutput

        if labels is None:
            return SequenceClassifierOutput(logits=first_token.logits(self, input_ids, attention_mask, token_type_ids))
        if self.config.problem_type is None:  # what the plain forward records on its first labelled batch
            self.config.problem_type = "single_label_classification"
        loss, logits = first_token.loss_and_logits(self, input_ids, labels, attention_mask, token_type_ids)
        return SequenceClassifierOutput(loss=loss, logits=logits)

    model.forward = types.MethodType(forward, model)
    return True


class ClassificationTask(Task):
    metric_for_best = ("eval_accuracy", True)

    def setup(self) -> None:
        from ...modeling.registry import load_model

        cfg = self.config.finetune
        train, validation = load_finetune_data(self.config)
        train.notices.extend(small_data_notes(self.config, len(train), len(validation)))
        self.train_data, self.validation_data = train, validation

        self.label_names = sort_labels(train.labels)
        if len(self.label_names) < 2:
            raise BadInput(f"{cfg.train}: only one class ({self.label_names[0]!r}) in column "
                           f"{train.label_column!r}; classification needs at least two")
        label2id = {name: i for i, name in enumerate(self.label_names)}
        id2label = {i: name for name, i in label2id.items()}
        loaded = load_model(self.config.model, head="classification", task="finetune",
                            allow_new_head=True, num_labels=len(self.label_names),
                            id2label=id2label, label2id=label2id, ignore_mismatched_sizes=True)
        self.tokenizer, self.model = loaded.tokenizer, loaded.model
        self.model.config.id2label, self.model.config.label2id = id2label, label2id
        use_first_token_forward(self.model, self.accelerator)
        self.model_source = loaded.source
        self.train_dataset = self._encode(train, label2id)
        self.eval_dataset = self._encode(validation, label2id)
        # Recorded in run_config.json so a reader sees the resolved columns.
        cfg.text_column, cfg.label_column = train.text_column, train.label_column
        cfg.text_pair_column = train.text_pair_column or "-"

    def _encode(self, data, label2id) -> list[dict[str, Any]]:
        max_length = self.config.finetune.max_length
        enc = self.tokenizer(data.texts, data.pairs, truncation=True, max_length=max_length)
        features = []
        for i, label in enumerate(data.labels):
            feature = {"input_ids": enc["input_ids"][i], "labels": label2id[label], "idx": i}
            if "token_type_ids" in enc:
                feature["token_type_ids"] = enc["token_type_ids"][i]
            features.append(feature)
        return features

    def collate_train(self, features):
        from .base import pad_batch

        batch = pad_batch(features, self.tokenizer.pad_token_id)
        return batch

    def collate_eval(self, features):
        import torch

        batch = self.collate_train(features)
        batch["idx"] = torch.tensor([f["idx"] for f in features], dtype=torch.long)
        return batch

    def training_step(self, model, batch):
        out = model(**{k: v for k, v in batch.items() if k != "idx"})
        correct = (out.logits.argmax(-1) == batch["labels"]).float().mean()
        return out.loss, {"train_accuracy": correct.item()}

    def evaluate(self, model, loader) -> dict[str, Any]:
        import numpy as np
        import torch
        import torch.nn.functional as F

        from ..metrics import classification_metrics

        all_logits, all_labels, all_idx = [], [], []
        for batch in loader:
            idx = batch.pop("idx")
            logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits.float()
            logits, labels, idx = self.accelerator.gather_for_metrics((logits, batch["labels"], idx))
            all_logits.append(logits.cpu())
            all_labels.append(labels.cpu())
            all_idx.append(idx.cpu())
        logits = torch.cat(all_logits)
        labels = torch.cat(all_labels)
        idx = torch.cat(all_idx)
        losses = F.cross_entropy(logits, labels, reduction="none")
        probs = torch.softmax(logits, -1).numpy()
        metrics = classification_metrics(labels.tolist(), probs, self.label_names)
        flat = {"eval_loss": float(losses.mean())}
        details = {}
        for key, value in metrics.items():
            if isinstance(value, (int, float)) or value is None:
                flat[f"eval_{key}"] = value
            else:
                details[key] = value
        # The validation examples the model gets most wrong: what a user should look at first.
        worst = torch.argsort(losses, descending=True)[:10].tolist()
        val = self.validation_data
        details["hardest_examples"] = [
            {"text": val.texts[int(idx[i])], **({"pair": val.pairs[int(idx[i])]} if val.pairs else {}),
             "label": self.label_names[int(labels[i])],
             "predicted": self.label_names[int(np.argmax(probs[i]))],
             "confidence": float(np.max(probs[i])), "loss": float(losses[i])} for i in worst]
        details["label_names"] = self.label_names
        self.last_eval = {**flat, **details}  # the engine writes it beside the eval event (eval_latest.json)
        return flat

    def eval_details(self) -> dict[str, Any]:
        return getattr(self, "last_eval", {})

    def final_results(self) -> dict[str, Any]:
        extra = getattr(self, "last_eval", {})
        return {k: v for k, v in extra.items() if k in ("confusion_matrix", "per_class", "label_names")}

    def data_summary(self) -> dict[str, Any]:
        t, v = self.train_data, self.validation_data
        counts = {name: t.labels.count(name) for name in self.label_names}
        return {"train_file": t.path, "validation_file": v.path if self.config.finetune.validation else
                f"{self.config.finetune.validation_fraction:.0%} stratified split of the training file",
                "train_examples": len(t.labels), "validation_examples": len(v.labels),
                "text_column": t.text_column, "text_pair_column": t.text_pair_column,
                "label_column": t.label_column, "labels": self.label_names, "train_label_counts": counts,
                "skipped_empty": t.skipped_empty, "notices": list(t.notices)}

    def save_final(self, model, folder, results: dict, state_dict: dict | None = None) -> None:
        # Inference then cuts texts where training did, not at the architecture's 512.
        self.tokenizer.model_max_length = self.config.finetune.max_length
        super().save_final(model, folder, results, state_dict)
        atomic_write_text(Path(folder) / "README.md", self.model_card(results))

    def model_card(self, results: dict) -> str:
        cfg = self.config
        lines = [
            "---", "library_name: transformers", "pipeline_tag: text-classification", "---", "",
            "# Sentence classifier fine-tuned with bertlab", "",
            f"- Base model: `{cfg.model or 'default'}` ({getattr(self.model_source, 'description', '')})",
            f"- Training data: `{self.train_data.path}` ({len(self.train_data.labels)} examples; "
            f"text column `{self.train_data.text_column}`"
            + (f", pair column `{self.train_data.text_pair_column}`" if self.train_data.text_pair_column else "")
            + f", label column `{self.train_data.label_column}`). Licence of the data: as given by its owner.",
            f"- Validation: {len(self.validation_data.labels)} examples",
            f"- Labels: {', '.join(self.label_names)}",
            f"- Hyperparameters: epochs {cfg.epochs}, max steps {cfg.max_steps or 'from epochs'}, "
            f"batch size {cfg.batch_size}, learning rate {cfg.lr}, warm-up {cfg.warmup}, weight decay "
            f"{cfg.weight_decay}, max length {cfg.finetune.max_length}, seed {cfg.seed}",
            f"- Steps: {results.get('step')} in {results.get('elapsed_s', 0):.0f} s", "", "## Validation metrics", "",
        ]
        for key in ("eval_accuracy", "eval_precision", "eval_recall", "eval_f1", "eval_f1_macro", "eval_roc_auc",
                    "eval_loss"):
            if results.get(key) is not None:
                lines.append(f"- {key[5:]}: {results[key]:.4f}")
        lines += ["", "Load it with plain transformers:", "", "```python",
                  "from transformers import AutoTokenizer, AutoModelForSequenceClassification",
                  "tok = AutoTokenizer.from_pretrained(PATH)",
                  "model = AutoModelForSequenceClassification.from_pretrained(PATH)", "```", ""]
        return "\n".join(lines)


def _head(data, n: int):
    """The first n rows (as 'the first 3,000 rows of SST-2' means)."""
    return data.subset(range(min(n, len(data.labels))), f"first {n} rows")
