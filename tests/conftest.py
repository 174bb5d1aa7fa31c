"""Shared fixtures: tiny BERT models written to a temp folder, so tests run real code paths fast.

`make_tiny_model(head)` writes a `save_pretrained` folder (hidden 32, 2 layers, a small WordPiece
vocabulary with English words and a few Chinese characters) and returns its path. Every bertlab
entry point accepts such a folder as `--model`, exactly as it accepts a finished run's `final/`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

# Tests never reach the network: the hub is "offline" unless a test says otherwise.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# No background ONNX exports from tests that do not ask for them (tests/test_fast_inference.py
# turns the fast path on): each costs a process and ~15 s of a CI core.
os.environ.setdefault("BERTLAB_FAST_INFERENCE", "0")
# Answers on the CPU, as CI computes them, even on a machine with a GPU (tests/test_device.py tries others).
os.environ.setdefault("BERTLAB_DEVICE", "cpu")

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = (
    "the a an is are was of and to in on for with it this that good bad great awful movie film "
    "very not really love hate fun boring plot actor story cat dog sat mat paris france capital "
    "city china beijing london england king queen man woman happy sad day night red blue green "
    "one two three I you he she we they my your ! . , ? ' - :"
).split()
PIECES = ["##s", "##ed", "##ing", "##ly", "##er"]
CHINESE = list("我爱北京天安门中国的人很好电影不错太差了是在有和")


def write_labeled_csv(path: Path, n: int = 80, seed: int = 0, header: tuple[str, str] = ("review", "sentiment")) -> Path:
    """Learnable two-class reviews from the tiny vocabulary: one sentiment word among three filler
    words decides the label (rows alternate positive, negative)."""
    import csv
    import random

    rng = random.Random(seed)
    positive, negative = "good great fun love happy".split(), "bad awful boring hate sad".split()
    filler = "the movie film plot story was very really".split()
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(header))
        for i in range(n):
            label = "positive" if i % 2 == 0 else "negative"
            words = rng.sample(filler, 3) + [rng.choice(positive if label == "positive" else negative)]
            rng.shuffle(words)
            writer.writerow([" ".join(words), label])
    return path


def tiny_vocab() -> list[str]:
    letters = [c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    seen, vocab = set(), []
    for tok in SPECIALS + WORDS + PIECES + CHINESE + letters + ["##" + c for c in letters]:
        if tok not in seen:
            seen.add(tok)
            vocab.append(tok)
    return vocab


def write_tiny_model(folder: Path, head: str = "masked-lm", num_labels: int = 2, seed: int = 0) -> Path:
    """Write a tiny random BERT with the given head ("masked-lm", "pretraining",
    "classification", "base") and its tokenizer to `folder`."""
    import torch
    from transformers import (BertConfig, BertForMaskedLM, BertForPreTraining,
                              BertForSequenceClassification, BertModel, BertTokenizerFast)

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = tiny_vocab()
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    # transformers 5: the (fast) BERT tokenizer takes the vocabulary itself, not vocab_file=.
    tokenizer = BertTokenizerFast(vocab={tok: i for i, tok in enumerate(vocab)}, do_lower_case=True)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                        num_labels=num_labels)
    torch.manual_seed(seed)
    cls = {"masked-lm": BertForMaskedLM, "pretraining": BertForPreTraining,
           "classification": BertForSequenceClassification, "base": BertModel}[head]
    model = cls(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def make_tiny_model(tmp_path):
    counter = iter(range(1000))

    def make(head: str = "masked-lm", **kwargs) -> Path:
        return write_tiny_model(tmp_path / f"tiny-{head}-{next(counter)}", head, **kwargs)

    return make


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    """An empty runs folder that bertlab uses for this test only."""
    folder = tmp_path / "runs"
    folder.mkdir()
    monkeypatch.setenv("BERTLAB_RUNS", str(folder))
    return folder


def finished_run(root: Path, name: str, head: str) -> Path:
    """A finished run whose final/ holds a tiny model with `head`: how a trained model appears."""
    from bertlab.training import runs
    from bertlab.config import TrainConfig

    folder = root / name
    write_tiny_model(folder / "final", head)
    TrainConfig(task="finetune", out=str(folder)).save(folder / "run_config.json")
    runs.write_status(folder, "finished", "finished 10 steps", pid=None)
    return folder


def finished_sentiment_run(folder: Path, train_csv: Path) -> Path:
    """A finished fine-tuning run of a tiny negative/positive classifier whose training file
    (`train_csv`, from write_labeled_csv) is still in place: what export-onnx validates on."""
    from bertlab.training import runs
    from bertlab.config import TrainConfig

    write_tiny_model(folder / "final", "classification")
    config_path = folder / "final" / "config.json"
    config = json.loads(config_path.read_text())
    config.update(id2label={"0": "negative", "1": "positive"}, label2id={"negative": 0, "positive": 1})
    config_path.write_text(json.dumps(config))
    cfg = TrainConfig(task="finetune", out=str(folder))
    cfg.finetune.train = str(train_csv)
    cfg.save(folder / "run_config.json")
    runs.write_status(folder, "finished", "finished 10 steps", pid=None)
    return folder
