"""What a newcomer runs into on a first visit (issue 17), checked through the page's own endpoints:
model lists that follow the runs folder, bad files refused before any run exists, no server paths
in messages, small data sets warned about, and Resume offered only where it can help."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bertlab.training import runs
from bertlab.ui import common
from conftest import finished_run, write_labeled_csv
from test_ui_training import NoWorkerService, _finetune_form, _launch, _value


# ---------------------------------------------------------------------------------- model lists


def test_model_lists_follow_the_runs_folder_without_a_refresh(runs_dir):
    """A run that finishes while the page is open (from here, the CLI or another browser) is
    offered in every model list at the next poll; nothing changes, nothing is re-sent."""
    import app

    demo = app.create_demo()
    sync = demo.bertlab_sync_model_lists
    first = sync("")
    signature = first[-1]
    assert signature  # a first poll always sends the lists (the page may be older than the runs)
    lists = [update.constructor_args["choices"] if hasattr(update, "constructor_args") else update.choices
             for update in first[:-1]]
    assert all("clf-run" not in str(choices) for choices in lists)
    assert all(update == {"__type__": "update"} for update in sync(signature)[:-1])  # no change: skipped

    finished_run(runs_dir, "20260101-000000-finetune-clf-run", "classification")
    finished_run(runs_dir, "20260101-000001-pretrain-mlm-run", "masked-lm")
    updated = sync(signature)
    assert updated[-1] != signature
    from bertlab.ui.app import MODEL_LISTS

    by_list = {(tab, key): [c[1] if isinstance(c, tuple) else c for c in update.choices]
               for (tab, key, _, _), update in zip(MODEL_LISTS, updated[:-1])}
    assert by_list[("classify", "model")][0] == "auto" and "20260101-000000-finetune-clf-run" in by_list[("classify", "model")]
    assert "20260101-000001-pretrain-mlm-run" in by_list[("fill-mask", "model")]
    assert "20260101-000001-pretrain-mlm-run" not in by_list[("classify", "model")]  # no classification head
    assert by_list[("fill-mask", "compare")][0] == ""
    assert "20260101-000001-pretrain-mlm-run" in by_list[("finetune", "model")]  # a base for fine-tuning


# ---------------------------------------------------------------------------------- bad files


BAD_FILES = {
    "empty.csv": b"",
    "header-only.csv": b"text,label\n",
    "picture as.csv": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
    "one-class.csv": ("text,label\n" + "".join(f"a fine film number {i},positive\n" for i in range(40))).encode(),
}


def test_bad_files_are_refused_at_start_with_no_run_folder(runs_dir, tmp_path, make_tiny_model):
    """Start refuses what the preview flags, with the same reason and the file's own name (never
    where the server keeps it), and creates no run: nothing clutters the Runs table."""
    from gradio_client import Client, handle_file

    model = make_tiny_model("base")
    demo, _ = _launch(NoWorkerService())
    try:
        client = Client(demo.local_url, verbose=False)
        for name, content in BAD_FILES.items():
            path = tmp_path / name
            path.write_bytes(content)
            preview = client.predict(handle_file(str(path)), "", api_name="/finetune_preview")
            message, run, _ = client.predict(*_finetune_form(handle_file(str(path)), model),
                                             api_name="/finetune_start")
            assert "Not started" in message, (name, message)
            assert name.replace(" ", " ") in message.replace("\\", ""), (name, message)
            assert "/tmp" not in message and "gradio" not in message and str(runs_dir) not in message, message
            assert not _value(run)
            if name == "one-class.csv":  # flagged by the preview too, before anyone presses Start
                assert "at least two classes" in preview[1] and "at least two classes" in message
        assert not list(runs_dir.iterdir()), "a refused file must not leave a run folder"
    finally:
        demo.close()


def test_small_data_is_warned_about_at_start(runs_dir, tmp_path, make_tiny_model):
    """60 rows, 10% held out: 6 validation examples and a dozen steps. The page says both, with
    the number of epochs that would give the model enough steps; the run's data summary too."""
    from gradio_client import Client, handle_file

    model = make_tiny_model("base")
    data = write_labeled_csv(tmp_path / "small.csv", n=60)
    demo, _ = _launch(NoWorkerService())
    try:
        client = Client(demo.local_url, verbose=False)
        message, run, _ = client.predict(*_finetune_form(handle_file(str(data)), model, epochs=3, batch_size=16),
                                         api_name="/finetune_start")
        assert "Started run" in message and _value(run)
        assert "only 6 validation examples" in message and "17 points" in message
        # 54 training rows / batch 16 = 4 steps an epoch; 3 epochs = 12 steps; 25 epochs give 100.
        assert "only 12 optimizer steps" in message and "about 25 epochs" in message
    finally:
        demo.close()


def test_small_data_notes_follow_the_settings():
    from bertlab.config import TrainConfig
    from bertlab.training.tasks.classification import small_data_notes

    config = TrainConfig(task="finetune", epochs=3, batch_size=16)
    assert small_data_notes(config, 5000, 500) == []  # enough of both
    notes = small_data_notes(config, 54, 6)
    assert len(notes) == 2 and "6 validation examples" in notes[0] and "about 25 epochs" in notes[1]
    config.max_steps = 40  # the user chose the steps: no advice on epochs
    assert len(small_data_notes(config, 54, 60)) == 0


# ---------------------------------------------------------------------------------- server paths


def test_messages_name_files_as_uploaded_never_server_folders(runs_dir, monkeypatch):
    hide = common.hide_server_paths
    assert hide("file /tmp/gradio/1315ab/empty.csv: the file is empty") == "file empty.csv: the file is empty"
    staged = runs_dir / "20260101-000000-finetune-ab12" / "data" / "train" / "picture_as.csv"
    assert hide(f"file {staged}, row 3: bad") == "file picture_as.csv, row 3: bad"
    # URLs and hub ids keep their slashes.
    assert hide("see https://huggingface.co/bert-base-uncased or google-bert/bert-base-uncased") == \
        "see https://huggingface.co/bert-base-uncased or google-bert/bert-base-uncased"
    # A runs folder given relative to the working folder (BERTLAB_RUNS=runs) goes too.
    monkeypatch.setenv("BERTLAB_RUNS", "runs")
    assert hide("file runs/20260101-x/data/train/a b.csv: empty") == "file a b.csv: empty"
    # The JSON views: every string with a folder in it.
    view = common.public_view({"finetune": {"train": str(staged), "text_column": "review"},
                               "out": "/root/bertlab-runs/20260101-x", "lr": 1e-4})
    assert view == {"finetune": {"train": "picture_as.csv", "text_column": "review"}, "out": "20260101-x",
                    "lr": 1e-4}
    assert common.error_box(f"file {staged}: empty") == "> ⚠️ **file picture\\_as.csv: empty**"


# ---------------------------------------------------------------------------------- resume


def _run_with_state(root: Path, run_id: str, state: str, message: str = "", trained_steps: int = 0) -> Path:
    folder = root / run_id
    (folder).mkdir(parents=True)
    (folder / "run_config.json").write_text(json.dumps({"task": "finetune", "model": "default"}))
    runs.write_status(folder, state, message)
    if trained_steps:
        (folder / "events.jsonl").write_text(
            json.dumps({"type": "train", "step": trained_steps, "total_steps": 50, "loss": 0.6}) + "\n")
    return folder


def test_resume_is_offered_only_where_it_can_help(runs_dir):
    """A run that failed before its first step (a file it cannot read) would fail the same way
    again: no Resume for it, and a clear reason if asked anyway. Stopped and interrupted runs, and
    a run that failed after training a while, keep Resume."""
    never = _run_with_state(runs_dir, "20260101-000000-finetune-0001", "failed",
                            "file empty.csv: the file is empty")
    later = _run_with_state(runs_dir, "20260101-000001-finetune-0002", "failed", "out of memory", trained_steps=12)
    stopped = _run_with_state(runs_dir, "20260101-000002-finetune-0003", "stopped")
    killed = _run_with_state(runs_dir, "20260101-000003-finetune-0004", "interrupted")
    done = _run_with_state(runs_dir, "20260101-000004-finetune-0005", "finished", trained_steps=50)
    resumable = {r["run"]: r["resumable"] for r in runs.list_runs()}
    assert resumable == {never.name: False, later.name: True, stopped.name: True, killed.name: True,
                         done.name: False}
    from bertlab.errors import BadInput

    with pytest.raises(BadInput, match="failed before its first training step .*empty.csv.*start a new run"):
        runs.resume_run(never)

    from bertlab.service import Service
    from bertlab.ui import runs_tab

    service = Service()
    assert runs_tab.status_values(service, never.name)["resume"].interactive is False
    assert runs_tab.status_values(service, later.name)["resume"].interactive is True


def test_bad_corpus_files_are_refused_at_pretraining_start(runs_dir, tmp_path):
    from gradio_client import Client, handle_file

    from bertlab.ui import pretrain_tab
    from test_ui_training import _form

    demo, _ = _launch(NoWorkerService())
    try:
        client = Client(demo.local_url, verbose=False)
        for name, content in (("empty.txt", b""), ("picture.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)):
            path = tmp_path / name
            path.write_bytes(content)
            values = _form(pretrain_tab.FORM_KEYS, corpus_examples=[], corpus_files=[handle_file(str(path))],
                           start_from="scratch", preset="tiny", model="default", train_tokenizer=True,
                           vocab_size=800, nsp=False, wwm=False, max_seq_length=64, batch_size=16, lr=7e-4,
                           max_steps=40, max_minutes=2, warmup=0.1, eval_every=20, seed=5)
            message, run, _ = client.predict(*values, api_name="/pretrain_start")
            assert "Not started" in message and name in message and "/tmp" not in message, message
            assert not _value(run)
        assert not list(runs_dir.iterdir())
    finally:
        demo.close()


# ---------------------------------------------------------------------------------- runs side by side


def _run_for_comparison(root: Path, run_id: str, task: str, lr: float, events: list[dict], results: dict) -> Path:
    folder = root / run_id
    folder.mkdir(parents=True)
    config = {"task": task, "model": "default", "lr": lr, "epochs": 3, "out": str(folder),
              "finetune": {"train": f"/srv/uploads/{run_id}/reviews.csv", "max_length": 128}}
    (folder / "run_config.json").write_text(json.dumps(config))
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (folder / "results.json").write_text(json.dumps(results))
    runs.write_status(folder, "finished", "done")
    return folder


def test_runs_side_by_side_curves_differences_and_finals(runs_dir, capsys):
    """Two fine-tuning runs that differ in learning rate only (the data file sits in a different
    upload folder but has the same name): the curves per run by step and by time, exactly one
    differing setting, and each run's final figures."""
    from bertlab.cli import main
    from bertlab.training.compare import compare_runs

    a = _run_for_comparison(runs_dir, "20260101-000000-finetune-aaaa", "finetune", 1e-4,
                            [{"type": "train", "step": 10, "loss": 0.6, "elapsed_s": 30},
                             {"type": "train", "step": 20, "loss": 0.4, "elapsed_s": 60},
                             {"type": "eval", "step": 20, "eval_accuracy": 0.8, "elapsed_s": 61}],
                            {"step": 20, "elapsed_s": 62, "eval_accuracy": 0.8, "eval_f1": 0.79, "eval_loss": 0.45})
    b = _run_for_comparison(runs_dir, "20260101-000001-finetune-bbbb", "finetune", 5e-5,
                            [{"type": "train", "step": 10, "loss": 0.65, "elapsed_s": 90},
                             {"type": "eval", "step": 10, "eval_accuracy": 0.7, "elapsed_s": 95}],
                            {"step": 10, "elapsed_s": 96, "eval_accuracy": 0.7})
    result = compare_runs([a.name, b.name])
    assert result["loss"] == [(10.0, 0.6, "run 1"), (20.0, 0.4, "run 1"), (10.0, 0.65, "run 2")]
    assert result["metric"] == [(20.0, 0.8, "run 1"), (10.0, 0.7, "run 2")]
    assert result["config_diff"] == [["lr", "0.0001", "5e-05"]]  # not "out", not the upload folders
    finals = {r["run"]: r for r in result["finals"]}
    assert finals[a.name]["accuracy"] == 0.8 and finals[a.name]["F1"] == 0.79 and finals[b.name]["F1"] is None
    assert finals[b.name]["minutes"] == 1.6
    by_time = compare_runs([a.name, b.name], x="time")
    assert by_time["loss"][0] == (0.5, 0.6, "run 1") and by_time["x_title"] == "elapsed minutes"

    from bertlab.errors import BadInput

    with pytest.raises(BadInput, match="two or more"):
        compare_runs([a.name])

    capsys.readouterr()
    assert main(["runs", "compare", a.name, b.name]) == 0
    out = capsys.readouterr().out
    assert "settings that differ" in out and "lr" in out and "0.0001 | 5e-05" in out

    # The Runs tab's endpoint: the same figures, the legend naming which slot is which run.
    from gradio_client import Client

    import gradio as gr

    from bertlab.service import Service
    from bertlab.ui import runs_tab

    with gr.Blocks() as page:
        runs_tab.create_tab(Service())
    page.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        client = Client(page.local_url, verbose=False)
        outputs = dict(zip(runs_tab.COMPARE_KEYS, client.predict([a.name, b.name], "step", api_name="/runs_compare")))
        assert f"run 1: {a.name}" in outputs["compare_loss_legend"] and f"run 2: {b.name}" in outputs["compare_loss_legend"]
        assert outputs["compare_config"]["data"] == [["lr", "0.0001", "5e-05"]]
        outputs = dict(zip(runs_tab.COMPARE_KEYS, client.predict([a.name], "step", api_name="/runs_compare")))
        assert "two or more" in outputs["compare_message"]
    finally:
        page.close()
