"""python -m bertlab pretrain --corpus FILE... [--model NAME | --preset NAME] [--train-tokenizer
--vocab-size N] [--no-nsp] [--wwm] [--max-seq-length N] [--batch-size N] [--lr X] [--max-steps N]
[--max-minutes M] [--resume RUN] --out DIR"""

from __future__ import annotations

from ..config import TrainConfig
from ._training import add_training_arguments, config_from_args, run_training

HELP = "pre-train BERT (masked-LM + next-sentence prediction) on your own text files"

FLAGS = {
    "--corpus": ("pretrain.corpus", list, "one or more UTF-8 (or GBK) text files"),
    "--preset": ("pretrain.preset", str, "train from scratch with a size preset: tiny, mini, small, base"),
    "--train-tokenizer": ("pretrain.train_tokenizer", bool, "train a new WordPiece vocabulary on the corpus"),
    "--tokenizer": ("pretrain.tokenizer", str, "a vocabulary (folder, run, default-chinese): with --preset, the new model's; "
                   "with --model, the model's body gets new word embeddings for it (vocabulary transfer)"),
    "--vocab-size": ("pretrain.vocab_size", int, "size of the trained vocabulary (default 8000)"),
    "--wwm": ("pretrain.wwm", bool, "whole-word masking (English ## pieces, Chinese jieba words)"),
    "--max-seq-length": ("pretrain.max_seq_length", int, "tokens per example (default 128)"),
    "--mlm-probability": ("pretrain.mlm_probability", float, "share of tokens masked (default 0.15)"),
    "--dupe-factor": ("pretrain.dupe_factor", int, "differently paired copies of the corpus (default 1)"),
    "--sample-sentences": ("pretrain.sample_sentences", list, "sentences whose predictions are shown at each evaluation"),
}


def defaults() -> TrainConfig:
    return TrainConfig(task="pretrain", epochs=1.0, batch_size=32, lr=1e-4, warmup=0.06, eval_every=50,
                       log_every=10)


def add_arguments(parser):
    add_training_arguments(parser, FLAGS, defaults())
    parser.add_argument("--no-nsp", action="store_true", help="masked-LM only (RoBERTa-style), no NSP")
    parser.add_argument("--dense-mlm", action="store_true",
                        help="project every position through the vocabulary (slower; for comparison)")
    parser.add_argument("--cased", action="store_true", help="keep case when training a tokenizer")


def run(args) -> int:
    from ..errors import BadInput
    from ..tasks.pretraining import PRESETS

    config = config_from_args(args, "pretrain", FLAGS, defaults())
    if args.no_nsp:
        config.pretrain.nsp = False
    if args.dense_mlm:
        config.pretrain.sparse_mlm = False
    if args.cased:
        config.pretrain.lowercase = False
    if not args.resume:
        if not config.pretrain.corpus:
            raise BadInput("pretrain needs --corpus FILE [FILE ...] (or --resume RUN)")
        preset = config.pretrain.preset
        if preset:
            if preset not in PRESETS:
                raise BadInput(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
            # Preset defaults apply where the user gave no flag.
            if args.lr is None:
                config.lr = PRESETS[preset]["lr"]
            if args.batch_size is None:
                config.batch_size = PRESETS[preset]["batch_size"]
        if config.pretrain.tokenizer and config.pretrain.train_tokenizer:
            raise BadInput("give either --tokenizer (an existing vocabulary) or --train-tokenizer (a new one), not both")
        if preset and args.model:
            raise BadInput("give either --preset (from scratch) or --model (continued pre-training), not both")
    return run_training(args, config)
