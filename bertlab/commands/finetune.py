"""python -m bertlab finetune --train F [--validation F] [column flags] [controls] --out DIR"""

from __future__ import annotations

from ._training import add_training_arguments, config_from_args, run_training

HELP = "fine-tune a model for sentence (pair) classification on a labeled CSV/TSV/JSONL/JSON file"


def add_arguments(parser):
    add_training_arguments(parser, "finetune")


def run(args) -> int:
    return run_training(args, config_from_args(args, "finetune"))
