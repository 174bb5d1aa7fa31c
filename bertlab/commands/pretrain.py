"""python -m bertlab pretrain --corpus FILE... [--model NAME | --preset NAME] [--train-tokenizer
--vocab-size N] [--no-nsp] [--wwm] [--max-seq-length N] [--batch-size N] [--lr X] [--max-steps N]
[--max-minutes M] [--resume RUN] --out DIR"""

from __future__ import annotations

from ._training import add_training_arguments, config_from_args, run_training

HELP = "pre-train BERT (masked-LM + next-sentence prediction) on your own text files"


def add_arguments(parser):
    add_training_arguments(parser, "pretrain")


def run(args) -> int:
    return run_training(args, config_from_args(args, "pretrain"))
