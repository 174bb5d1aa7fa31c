"""Tasks plug model, data and loss into the one engine (bertlab.training.engine.train)."""

from __future__ import annotations


def build_task(config, accelerator):
    if config.task == "finetune":
        from .classification import ClassificationTask

        return ClassificationTask(config, accelerator)
    if config.task == "pretrain":
        from .pretraining import PretrainingTask

        return PretrainingTask(config, accelerator)
    from ...errors import BadInput

    raise BadInput(f"unknown task {config.task!r} (finetune or pretrain)")
