"""One set of defaults: the config's fields (bertlab.config) are what the CLI's flags, the page's
forms and the README's table show; one validate() per task holds the task's rules."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from bertlab.config import QUICK_START, TrainConfig, defaults_table, quick_start
from bertlab.errors import BadInput

README = Path(__file__).resolve().parents[1] / "README.md"


def _cli_config(task: str, argv: list[str]) -> TrainConfig:
    from bertlab.commands import _training

    parser = argparse.ArgumentParser()
    _training.add_training_arguments(parser, task)
    return _training.config_from_args(parser.parse_args(argv), task)


def _flat(config: TrainConfig) -> dict:
    from bertlab.config import flatten

    return flatten(config.to_dict())


def test_cli_defaults_are_the_config_defaults():
    ft = _cli_config("finetune", ["--train", "t.csv"])
    assert _flat(ft) == _flat(dataclasses.replace(TrainConfig.for_task("finetune"),
                                                  finetune=dataclasses.replace(TrainConfig().finetune, train="t.csv")))
    assert (ft.epochs, ft.lr) == (3.0, 1e-4)  # the task's defaults, not the bare dataclass's
    pt = _cli_config("pretrain", ["--corpus", "c.txt"])
    expected = TrainConfig.for_task("pretrain")
    expected.pretrain.corpus = ["c.txt"]
    assert _flat(pt) == _flat(expected)
    # A size preset brings its learning rate and batch size unless a flag sets them.
    tiny = _cli_config("pretrain", ["--corpus", "c.txt", "--preset", "tiny", "--train-tokenizer"])
    assert (tiny.lr, tiny.batch_size) == (1e-3, 32)
    assert _cli_config("pretrain", ["--corpus", "c.txt", "--preset", "tiny", "--train-tokenizer", "--lr", "2e-4"]).lr == 2e-4
    assert _cli_config("pretrain", ["--corpus", "c.txt", "--no-nsp", "--cased"]).pretrain.nsp is False


def test_page_defaults_are_the_config_defaults():
    """Every form field's starting value is the config's (the pre-training form adds QUICK_START)."""
    import gradio as gr

    from bertlab.service import Service
    from bertlab.ui import finetune_tab, pretrain_tab

    with gr.Blocks():
        ft = finetune_tab.create_tab(Service())
        pt = pretrain_tab.create_tab(Service())
    d, q = TrainConfig.for_task("finetune"), quick_start()
    for key, setting in finetune_tab.SETTINGS.items():
        if isinstance(ft[key], gr.Number):
            section, _, name = setting.rpartition(".")
            assert ft[key].value == getattr(getattr(d, section) if section else d, name), key
    for key, setting in pretrain_tab.SETTINGS.items():
        if isinstance(ft.get(key), gr.Number) or isinstance(pt[key], (gr.Number, gr.Checkbox)):
            section, _, name = setting.rpartition(".")
            assert pt[key].value == getattr(getattr(q, section) if section else q, name), key
    assert pt["preset"].value == QUICK_START["pretrain.preset"]
    # What the page builds from its untouched form is what the CLI builds from the same choices.
    page = finetune_tab.finetune_config("t.csv", **{k: ft[k].value for k in finetune_tab.SETTINGS
                                                    if isinstance(ft[k], gr.Number)})
    cli = _cli_config("finetune", ["--train", "t.csv", "--log-every", str(finetune_tab.LOG_EVERY)])
    assert _flat(page) == _flat(cli)


def test_one_validate_per_task_holds_its_rules():
    config = TrainConfig.for_task("pretrain")
    with pytest.raises(BadInput, match="corpus"):
        config.validate()
    config.pretrain.corpus = ["c.txt"]
    config.pretrain.train_tokenizer = True
    with pytest.raises(BadInput, match="from scratch"):
        config.validate()
    config.pretrain.preset = "huge"
    with pytest.raises(BadInput, match="huge"):
        config.validate()
    config.pretrain.preset = "tiny"
    config.pretrain.tokenizer = "default-chinese"
    with pytest.raises(BadInput, match="not both"):
        config.validate()
    config.pretrain.tokenizer = ""
    config.validate()
    config.batch_size = 0
    with pytest.raises(BadInput, match="Batch size"):
        config.validate()
    with pytest.raises(BadInput, match="training file"):
        TrainConfig.for_task("finetune").validate()


def test_the_readme_lists_the_defaults():
    assert defaults_table() in README.read_text(encoding="utf-8"), \
        "README's settings table is out of date: paste bertlab.config.defaults_table() into it"
