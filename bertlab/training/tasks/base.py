"""What the engine expects from a task, with the shared pieces (padding, stats averaging)."""

from __future__ import annotations

from typing import Any


def pad_batch(features: list[dict[str, Any]], pad_id: int, keys=("input_ids", "token_type_ids",
              "attention_mask", "labels"), label_pad: int = -100):
    """Dynamic padding: pad each key to the longest example in this batch only.
    Scalar `labels` (classification) become a 1-D tensor; sequence labels are padded with -100."""
    import torch

    longest = max(len(f["input_ids"]) for f in features)
    batch: dict[str, Any] = {}
    for key in keys:
        if key not in features[0]:
            continue
        values = [f[key] for f in features]
        if key == "labels" and not isinstance(values[0], list):
            batch[key] = torch.tensor(values, dtype=torch.long)
            continue
        fill = {"input_ids": pad_id, "labels": label_pad}.get(key, 0)
        batch[key] = torch.tensor([v + [fill] * (longest - len(v)) for v in values], dtype=torch.long)
    if "attention_mask" not in batch:
        batch["attention_mask"] = (batch["input_ids"] != pad_id).long()
    return batch


class Task:
    """Base class: subclasses fill in setup, training_step, evaluate and save_final."""

    metric_for_best = ("eval_loss", False)  # (key, greater is better)

    def __init__(self, config, accelerator):
        self.config = config
        self.accelerator = accelerator
        self.model = None
        self.tokenizer = None
        self.train_dataset: list[dict] = []
        self.eval_dataset: list[dict] | None = None

    def setup(self) -> None:
        raise NotImplementedError

    def train_lengths(self) -> list[int]:
        return [len(f["input_ids"]) for f in self.train_dataset]

    def eval_lengths(self) -> list[int]:
        return [len(f["input_ids"]) for f in (self.eval_dataset or [])]

    def collate_train(self, features):
        return pad_batch(features, self.tokenizer.pad_token_id)

    def collate_eval(self, features):
        return self.collate_train(features)

    def training_step(self, model, batch):
        raise NotImplementedError

    def summarize_stats(self, sums: dict[str, float], n: int) -> dict[str, float]:
        """Window sums of per-step stats -> the values logged in events (means by default)."""
        return {k: v / max(n, 1) for k, v in sums.items()}

    def evaluate(self, model, loader) -> dict[str, Any]:
        return {}

    def eval_details(self) -> dict[str, Any]:
        """The latest evaluation beyond its numbers (a confusion matrix, the hardest examples);
        {} = none. The engine writes it to the run folder with each evaluation."""
        return {}

    def save_final(self, model, folder, results: dict, state_dict: dict | None = None) -> None:
        """`state_dict`: the full weights gathered from sharded processes (FSDP, DeepSpeed);
        None = the model's own."""
        model.save_pretrained(folder, state_dict=state_dict)
        self.tokenizer.save_pretrained(folder)

    def final_results(self) -> dict[str, Any]:
        return {}

    def data_summary(self) -> dict[str, Any]:
        return {"train_examples": len(self.train_dataset),
                "eval_examples": len(self.eval_dataset or [])}
