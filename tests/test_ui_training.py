"""The training tabs (fine-tuning, pre-training, runs) driven through gradio_client against a real
app: a real worker process trains a tiny BERT, and the page's endpoints show it streaming, finishing,
queueing, stopping, resuming and being deleted. Plus the pure helpers the tabs render with."""

from __future__ import annotations

import random
import socket
import time
import zipfile
from pathlib import Path

import pytest

from bertlab.errors import BadInput
from conftest import write_labeled_csv
from bertlab.ui import common, finetune_tab, pretrain_tab, runs_tab


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_corpus(path: Path, docs: int = 30, seed: int = 0) -> Path:
    rng = random.Random(seed)
    words = "the a cat dog sat on mat king queen man woman city day night red blue green".split()
    blocks = []
    for _ in range(docs):
        sentences = [" ".join(rng.choice(words) for _ in range(rng.randint(4, 9))) + " ." for _ in range(4)]
        blocks.append("\n".join(sentences))
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    return path


def _launch(service):
    import gradio as gr

    with gr.Blocks() as demo:
        comps = {"finetune": finetune_tab.create_tab(service), "pretrain": pretrain_tab.create_tab(service),
                 "runs": runs_tab.create_tab(service)}
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=_free_port(), quiet=True)
    return demo, comps


def _value(output):
    """A component returned as an update (e.g. the Run dropdown with fresh choices) reaches
    gradio_client as {"__type__": "update", "value": ...}."""
    return output.get("value") if isinstance(output, dict) and output.get("__type__") == "update" else output


def _form(keys, **values) -> list:
    values.setdefault("accelerate_config", None)  # optional upload: one process unless given
    return [values[k] for k in keys]


def _finetune_form(train, model, **overrides):
    values = dict(train_file=train, validation_file=None, example="", text_column="", text_pair_column="",
                  label_column="", model=str(model), epochs=6, lr=5e-3, batch_size=8, max_length=64, warmup=0,
                  weight_decay=0.01, seed=1, eval_every=18, early_stopping_patience=0, max_train_samples=0,
                  max_minutes=0, validation_fraction=0.1)
    values.update(overrides)
    return _form(finetune_tab.FORM_KEYS, **values)


def NoWorkerService(*args, **kwargs):
    """A Service whose Start writes the run folder (config, staged uploads, status queued) but
    launches no worker: what the page stages and records, checked without training."""
    from bertlab.training import runs
    from bertlab.service import Service

    def no_worker(config, folder) -> str:
        folder.write_config(config)
        folder.write_status("queued", "waiting for the machine")
        return str(folder.path)

    class NoWorker(Service):
        def start_run(self, config, uploads=()) -> str:
            from unittest import mock

            with mock.patch.object(runs, "start_run", no_worker):
                return super().start_run(config, uploads)

    return NoWorker(*args, **kwargs)


class Page:
    """The app's endpoints, named as a user of gradio_client sees them."""

    def __init__(self, client):
        self.client = client

    def status(self, run: str) -> dict:
        out = self.client.predict(run, api_name="/finetune_status")
        return dict(zip(finetune_tab.STATUS_API_KEYS, out, strict=True))

    def run_status(self, run: str) -> dict:
        out = self.client.predict(run, api_name="/run_status")
        return dict(zip(runs_tab.STATUS_API_KEYS, out, strict=True))

    def runs(self) -> dict[str, list]:
        table, _ = self.client.predict("", api_name="/runs_list")
        return {row[0]: row for row in table["data"]}

    def wait(self, run: str, until, timeout: float = 90.0, poll: float = 0.25) -> tuple[dict, list[dict]]:
        """Poll the fine-tuning status endpoint until `until(latest)`; returns the last view and
        every distinct status seen on the way."""
        seen: list[dict] = []
        deadline = time.time() + timeout
        while True:
            view = self.status(run)
            latest = view["latest"] or {}
            key = (latest.get("state"), latest.get("step"))
            if not seen or key != (seen[-1].get("state"), seen[-1].get("step")):
                seen.append(latest)
            if until(latest):
                return view, seen
            if time.time() > deadline:
                raise AssertionError(f"run {run} never reached the expected state; last seen {latest}")
            time.sleep(poll)


# ---------------------------------------------------------------------------------- end to end


def test_finetune_streams_finishes_queues_stops_and_deletes(runs_dir, make_tiny_model, tmp_path):
    from gradio_client import Client, handle_file

    from bertlab.service import Service

    model = make_tiny_model("base")
    data = write_labeled_csv(tmp_path / "reviews.csv")
    service = Service()
    demo, comps = _launch(service)
    try:
        page = Page(Client(demo.local_url, verbose=False))

        # The preview detects the columns of the uploaded file.
        table, info, text_col, pair_col, label_col = map(_value, page.client.predict(
            handle_file(str(data)), "", api_name="/finetune_preview"))
        assert (text_col, pair_col, label_col) == ("review", "-", "sentiment")
        assert table["headers"] == ["review", "sentiment"] and len(table["data"]) >= 5
        assert "**review**" in info and "**sentiment**" in info

        # Bad settings are refused with the field named, and nothing starts.
        message, _, _ = page.client.predict(*_finetune_form(handle_file(str(data)), model, lr=-1),
                                            api_name="/finetune_start")
        assert "Learning rate" in message and not list(runs_dir.iterdir())

        # Run A: starts, streams increasing steps, finishes with all metrics.
        message, run_a, _ = page.client.predict(*_finetune_form(handle_file(str(data)), model),
                                                api_name="/finetune_start")
        run_a = _value(run_a)
        assert "Started run" in message and run_a
        # The upload now lives inside the run folder that uses it.
        data_folder = runs_dir / run_a / "data"
        staged = [str(p.relative_to(data_folder)) for p in data_folder.rglob("*") if p.is_file()]
        assert staged == ["train/reviews.csv"]  # under its own name: messages name it as uploaded

        view, seen = page.wait(run_a, lambda s: s.get("state") == "running" and (s.get("step") or 0) > 0)
        # Run B is started while A trains: it waits in the queue and says where it stands.
        _, run_b, _ = page.client.predict(*_finetune_form(handle_file(str(data)), model, epochs=1000),
                                          api_name="/finetune_start")
        run_b = _value(run_b)
        queued = page.status(run_b)
        if queued["latest"]["state"] == "queued":  # A may (rarely) have finished already
            position = queued["latest"]["queue_position"]
            assert position >= 1 and f"position **{position}** in the queue" in queued["progress"]

        view, more = page.wait(run_a, lambda s: s.get("state") == "finished")
        steps = [s["step"] for s in seen + more if s.get("step")]
        assert len(set(steps)) >= 2 and steps == sorted(steps), steps
        latest = view["latest"]
        assert latest["step"] == latest["total_steps"] == 54
        for key in ("eval_accuracy", "eval_precision", "eval_recall", "eval_f1", "eval_f1_macro",
                    "eval_roc_auc"):
            assert 0.0 <= latest["eval"][key] <= 1.0, key
        assert latest["eval"]["eval_accuracy"] >= 0.75  # the sentiment word decides the label
        cm = latest["eval_details"]["confusion_matrix"]
        assert sum(map(sum, cm)) == 8  # 10% stratified validation split of 80 rows
        assert "Confusion matrix" in view["confusion"] and "positive" in view["confusion"]
        assert len(view["per_class"]["data"]) == 2 and view["hardest"]["data"]
        assert {"train loss", "validation loss"} <= {row[2] for row in _value(view["loss_plot"])["data"]}
        assert "finished" in view["progress"] and "model lists" in view["progress"]

        # The finished model downloads as a zip of a save_pretrained folder.
        zip_path = _value(page.client.predict(run_a, api_name="/finetune_download")[0])
        with zipfile.ZipFile(zip_path) as archive:
            names = set(archive.namelist())
        assert {"config.json", "README.md"} <= names and any(n.endswith(".safetensors") for n in names)

        # Run B trains next. Deleting it while running is refused with a message; Stop stops it.
        page.wait(run_b, lambda s: s.get("state") == "running" and (s.get("step") or 0) > 0)
        message = page.client.predict(run_b, api_name="/run_delete")[0]
        assert "stop it first" in message
        message, _ = page.client.predict(run_b, api_name="/finetune_stop")
        assert "Stop requested" in message
        stopped, _ = page.wait(run_b, lambda s: s.get("state") == "stopped", timeout=60)
        assert stopped["latest"]["step"] < stopped["latest"]["total_steps"]

        listed = page.runs()
        assert listed[run_a][2] == "finished" and listed[run_b][2] == "stopped"
        assert "accuracy" in listed[run_a][5]
        shown = page.run_status(run_b)
        assert shown["config"]["task"] == "finetune" and "stopped" in shown["progress"]

        # The stopped run offers Resume; a finished one is refused with a reason. (Resuming itself is
        # the engine's business and tested there; a third worker would double this test's time.)
        buttons = runs_tab.status_values(service, run_b)
        assert buttons["resume"].interactive is True and buttons["stop"].interactive is False
        assert "already finished" in page.client.predict(run_a, api_name="/finetune_resume")[0]

        # Delete A from the runs tab: gone from the list and from disk.
        assert "Deleted" in page.client.predict(run_a, api_name="/run_delete")[0]
        assert run_a not in page.runs() and not (runs_dir / run_a).exists()
    finally:
        demo.close()
        _stop_all(runs_dir)


def _stop_all(runs_dir: Path, timeout: float = 30.0) -> None:
    """Never leave a worker training after a test: ask every run to stop and wait for them."""
    from bertlab.training import runs

    for folder in runs_dir.iterdir():
        if folder.is_dir() and not folder.name.startswith(".") and runs.read_status(folder)["state"] in common.ACTIVE:
            runs.request_stop(folder)
    deadline = time.time() + timeout
    while time.time() < deadline and any(r["state"] in common.ACTIVE for r in runs.list_runs()):
        time.sleep(0.2)


def test_pretraining_preview_shows_masks_and_nsp_labels(runs_dir, make_tiny_model, tmp_path):
    from gradio_client import Client, handle_file

    from bertlab.service import Service

    model = make_tiny_model("masked-lm")
    corpus = _write_corpus(tmp_path / "corpus.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    demo, _ = _launch(Service())
    try:
        client = Client(demo.local_url, verbose=False)

        def form(files, **overrides):
            values = dict(corpus_examples=[], corpus_files=files, start_from="continue", preset="tiny",
                          model=str(model), train_tokenizer=False, vocab_size=3000, nsp=True, wwm=False,
                          max_seq_length=32, batch_size=8, lr=1e-4, max_steps=20, max_minutes=0, warmup=0.1,
                          eval_every=10, seed=3)
            values.update(overrides)
            return _form(pretrain_tab.FORM_KEYS, **values)

        shown = client.predict(*form([handle_file(str(corpus))]), api_name="/pretrain_preview")
        assert "tok-mask" in shown and "[MASK]" in shown
        assert "NSP: IsNext" in shown or "NSP: NotNext" in shown
        # A corpus with no text gets a visible message, not a crash, and the page keeps serving.
        bad = client.predict(*form([handle_file(str(empty))]), api_name="/pretrain_preview")
        assert bad.startswith("> ⚠️")
        assert "[MASK]" in client.predict(*form([handle_file(str(corpus))]), api_name="/pretrain_preview")
        # Continued pre-training with a new vocabulary is refused before anything runs.
        refused = client.predict(*form([handle_file(str(corpus))], train_tokenizer=True),
                                 api_name="/pretrain_preview")
        assert "keeps the model's own vocabulary" in refused
    finally:
        demo.close()


def test_demo_mode_refuses_training_and_is_read_only(runs_dir, make_tiny_model, tmp_path):
    from gradio_client import Client, handle_file

    from bertlab.service import Service

    model = make_tiny_model("base")
    data = write_labeled_csv(tmp_path / "reviews.csv", n=20)
    old = runs_dir / "20200101-000000-finetune-old1"
    old.mkdir()
    (old / "run_config.json").write_text('{"task": "finetune"}')
    (old / "status.json").write_text('{"state": "stopped", "message": "stopped at step 3"}')
    demo, comps = _launch(Service(demo=True))
    try:
        client = Client(demo.local_url, verbose=False)
        message, run, _ = client.predict(*_finetune_form(handle_file(str(data)), model),
                                         api_name="/finetune_start")
        assert "switched off" in message and not isinstance(run, str)  # the Run dropdown is left as it was
        pre = _form(pretrain_tab.FORM_KEYS, corpus_examples=[], corpus_files=None, start_from="scratch",
                    preset="tiny", model="", train_tokenizer=True, vocab_size=500, nsp=True, wwm=False,
                    max_seq_length=32, batch_size=8, lr=1e-3, max_steps=5, max_minutes=0, warmup=0.1,
                    eval_every=5, seed=1)
        assert "switched off" in client.predict(*pre, api_name="/pretrain_start")[0]
        # The runs list still shows runs, but nothing can be changed.
        table, _ = client.predict("", api_name="/runs_list")
        assert [row[0] for row in table["data"]] == [old.name]
        assert "read-only" in client.predict(old.name, api_name="/run_delete")[0]
        assert "read-only" in client.predict(old.name, api_name="/run_resume")
        assert old.exists() and sorted(p.name for p in runs_dir.iterdir()) == [old.name]
        assert comps["finetune"]["setup"].visible is False and comps["runs"]["delete"].visible is False
    finally:
        demo.close()


# ---------------------------------------------------------------------------------- helpers


def test_form_values_are_checked_with_the_field_named():
    config = finetune_tab.finetune_config("train.csv", epochs=2, lr=3e-5, batch_size=4, max_length=64,
                                          text_pair_column="-")
    assert (config.task, config.epochs, config.lr, config.batch_size) == ("finetune", 2.0, 3e-5, 4)
    assert config.finetune.max_length == 64 and config.finetune.text_pair_column == "-"
    for kwargs, field in ((dict(batch_size=2.5), "Batch size"), (dict(lr=0), "Learning rate"),
                          (dict(epochs=None), "Epochs"),
                          (dict(validation_fraction=0.9), "Validation fraction"),
                          (dict(max_length="x"), "Max length")):
        with pytest.raises(BadInput, match=field):
            finetune_tab.finetune_config("train.csv", **kwargs)
    with pytest.raises(BadInput, match="training file"):
        finetune_tab.finetune_config("")

    scratch = pretrain_tab.pretrain_config(["c.txt"], preset="mini", vocab_size=2000)
    assert scratch.pretrain.preset == "mini" and scratch.pretrain.train_tokenizer and scratch.model == ""
    cont = pretrain_tab.pretrain_config(["c.txt"], start_from="continue", model="default",
                                        train_tokenizer=False)
    assert cont.pretrain.preset == "" and cont.model == "default"
    with pytest.raises(BadInput, match="corpus"):
        pretrain_tab.pretrain_config([])
    with pytest.raises(BadInput, match="vocabulary"):
        pretrain_tab.pretrain_config(["c.txt"], train_tokenizer=False)


def test_example_data_is_chosen_by_name_never_by_path():
    class FakeService:
        demo = False

        def example_files(self):
            return {"English sentiment (CSV)": "/x/sentiment.csv",
                    "English corpus for pre-training": "/x/c.txt"}

    assert finetune_tab.labeled_examples(FakeService()) == {"English sentiment (CSV)": "/x/sentiment.csv"}
    assert finetune_tab.example_path(FakeService(), "English sentiment (CSV)") == "/x/sentiment.csv"
    with pytest.raises(BadInput, match="unknown example"):
        finetune_tab.example_path(FakeService(), "/etc/passwd")


def test_status_line_curves_and_runs_table():
    events = [{"type": "train", "step": 10, "total_steps": 40, "loss": 0.7, "elapsed_s": 12, "eta_s": 36,
               "samples_per_s": 20.0, "tokens_per_s": 900.0},
              {"type": "eval", "step": 20, "total_steps": 40, "eval_loss": 0.5, "eval_accuracy": 0.8,
               "elapsed_s": 25},
              {"type": "train", "step": 20, "total_steps": 40, "loss": 0.4, "elapsed_s": 26, "eta_s": 26}]
    state = {"summary": {"run": "r1", "state": "running", "step": 20, "total_steps": 40, "model": "default"},
             "status": {"state": "running", "message": "training"}, "events": events}
    text = common.progress_markdown(state)
    assert "step **20 / 40** (50%)" in text and "ETA 0:26" in text and "elapsed 0:26" in text
    queued = common.progress_markdown({"summary": {"run": "r2", "state": "queued", "queue_position": 2},
                                       "status": {}, "events": []})
    assert "position **2**" in queued
    failed = common.progress_markdown({"summary": {"run": "r3", "state": "failed"},
                                       "status": {"message": "the loss became nan"}, "events": []})
    assert "⚠️" in failed and "nan" in failed

    losses = common.loss_frame(events, "finetune")
    # The validation loss has one point so far: a short flat dash (3% of the step range past it)
    # makes it a line the chart can draw.
    assert losses.to_dict("list") == {"step": [10.0, 20.0, 20.0, 20.5], "value": [0.7, 0.4, 0.5, 0.5],
                                      "series": ["train loss", "train loss", "validation loss", "validation loss"]}
    # Series without points yet are there as one empty row (the plot then knows them from the start).
    metrics = common.metrics_frame(events, "finetune")
    assert metrics.dropna()["series"].tolist() == ["accuracy"] * 2
    assert metrics.drop_duplicates("series")["series"].tolist() == list(common.FINETUNE_METRICS)
    # The legend line names only the series with points.
    legend = common.legend_html(metrics, common.FINETUNE_METRICS, ("step", "value"))
    assert "accuracy" in legend and "precision" not in legend and "ROC-AUC" not in legend

    rows = [{"run": "old", "task": "finetune", "state": "finished", "created": 1, "step": 40,
             "total_steps": 40, "loss": 0.1234567, "eval_accuracy": 0.9},
            {"run": "new", "task": "pretrain", "state": "queued", "created": 3, "queue_position": 1},
            {"run": "mid", "task": "finetune", "state": "running", "created": 2, "step": 5,
             "total_steps": 40}]
    table = common.runs_frame(rows)
    assert table.iloc[0].tolist()[:5] == ["old", "finetune", "finished", "40 / 40", "0.1235"]
    assert "accuracy 0.9000" in table.iloc[0]["metrics"] and table.iloc[1]["state"] == "queued (#1)"
    assert common.newest_active(rows) == "new" and common.newest_active(rows, "finetune") == "mid"
    assert [value for _, value in common.run_choices(rows, "finetune")] == ["mid", "old"]


def test_a_run_stopped_part_way_says_so_and_names_no_server_path():
    stopped = common.saved_model_note({"run": "r1", "state": "stopped", "step": 23, "total_steps": 100,
                                       "path": "/srv/secret/runs/r1"}, "in the model lists")
    assert "Stopped at step 23 of 100" in stopped and "Resume" in stopped and "Done" not in stopped
    assert "/srv" not in stopped and "**r1**" in stopped
    done = common.saved_model_note({"run": "r2", "state": "finished", "step": 100, "total_steps": 100}, "here")
    assert done.strip().startswith("**Done.**") and "**r2**" in done


def test_status_and_error_lines_render_names_as_text():
    """A failed run's message or a start error carries the model name the user (or a link) gave:
    it must not become a link, an image or a code span in the page."""
    hostile = "m` <img src=x> [log in](http://127.0.0.1:9/)"
    for shown in (common.error_box(f"model {hostile!r} not found"), common.info_box(hostile)):
        assert "<img" not in shown and "](http" not in shown.replace("\\](http", "") and "\\`" in shown, shown


def test_runs_table_shows_pretraining_accuracy_from_a_real_summary(runs_dir):
    """The table reads what run_summary writes: a finished pre-training run's MLM and NSP
    accuracy (results.json's eval_mlm_accuracy / eval_nsp_accuracy) appear in its metrics cell."""
    from bertlab.training import runs
    from bertlab.config import TrainConfig

    folder = runs_dir / "20240101-000000-pretrain-abcd"
    TrainConfig(task="pretrain", out=str(folder)).save(folder / "run_config.json")
    runs.write_status(folder, "finished", "finished 80 steps", pid=None)
    runs.atomic_write_json(folder / "results.json", {"step": 80, "eval_mlm_accuracy": 0.4321,
                                                     "eval_nsp_accuracy": 0.75})
    table = common.runs_frame(runs.list_runs())
    assert "MLM acc 0.4321" in table.iloc[0]["metrics"] and "NSP acc 0.7500" in table.iloc[0]["metrics"]


def test_sample_batch_and_confusion_matrix_rendering():
    preview = {"vocab_size": 120, "examples": [{"nsp_label": "NotNext", "tokens": [
        {"token": "[CLS]", "original": "[CLS]", "kind": "", "segment": 0},
        {"token": "[MASK]", "original": "cat", "kind": "mask", "segment": 0},
        {"token": "blue", "original": "dog", "kind": "random", "segment": 1},
        {"token": "<b>", "original": "<b>", "kind": "kept", "segment": 1}]}]}
    shown = pretrain_tab.batch_html(preview)
    assert "tok-mask" in shown and "<small>cat</small>" in shown and "tok-random" in shown
    assert "NSP: NotNext" in shown and "<b>" not in shown.replace("<br>", "")  # user tokens are escaped

    details = {"confusion_matrix": [[3, 1], [0, 4]], "label_names": ["neg", "<pos>"],
               "roc_curve": {"fpr": [0, 0.5, 1], "tpr": [0, 1, 1]}, "eval_roc_auc": 0.875,
               "per_class": [{"label": "neg", "precision": 1.0, "recall": 0.75, "f1": 0.857, "support": 4}],
               "hardest_examples": [{"text": "t", "label": "neg", "predicted": "<pos>", "confidence": 0.6,
                                     "loss": 0.9}]}
    matrix = finetune_tab.confusion_html(details)
    assert "8 validation examples" in matrix and "&lt;pos&gt;" in matrix and "<pos>" not in matrix
    roc = finetune_tab.roc_frame(details)
    assert set(roc["series"]) == set(finetune_tab.ROC_SERIES) and len(roc) == 5
    assert finetune_tab.roc_frame({})["value"].isna().sum() == 1  # no curve yet: an empty ROC series
    assert finetune_tab.per_class_frame(details).iloc[0]["recall"] == 0.75
    columns = finetune_tab.hardest_frame(details).columns.tolist()
    assert columns == ["text", "label", "predicted", "confidence", "loss"]

    predictions = pretrain_tab.predictions_frame([{"type": "eval", "step": 5, "sample_predictions": [
        {"text": "the [MASK] sat", "answer": "cat", "predictions": [["cat", 0.5], ["dog", 0.2]]}]}])
    assert predictions.iloc[0].tolist() == ["the [MASK] sat", "cat", "cat (0.50), dog (0.20)", "yes"]


def test_pretraining_start_copies_the_corpus_into_the_run_and_builds_the_config(runs_dir, tmp_path):
    """The start button's wiring, without a worker: a service that prepares the run folder as
    start_run does but launches nothing."""
    from gradio_client import Client, handle_file

    from bertlab.training import runs

    corpus = _write_corpus(tmp_path / "my corpus.txt")
    demo, _ = _launch(NoWorkerService())
    try:
        client = Client(demo.local_url, verbose=False)
        values = _form(pretrain_tab.FORM_KEYS, corpus_examples=[], corpus_files=[handle_file(str(corpus))],
                       start_from="scratch", preset="mini", model="default", train_tokenizer=True,
                       vocab_size=800,
                       nsp=False, wwm=True, max_seq_length=64, batch_size=16, lr=7e-4, max_steps=40,
                       max_minutes=2, warmup=0.1, eval_every=20, seed=5)
        message, run, _ = client.predict(*values, api_name="/pretrain_start")
        run = _value(run)
        assert "Started run" in message and run.endswith(tuple("0123456789abcdef")) and "-pretrain-" in run
        saved = runs.read_json(runs_dir / run / "run_config.json")
        staged = runs_dir / run / "data" / "corpus1" / "my corpus.txt"  # as the user named it
        assert saved["pretrain"]["corpus"] == [str(staged)] and staged.read_text() == corpus.read_text()
        assert (saved["task"], saved["model"], saved["max_steps"], saved["lr"], saved["max_minutes"]) == \
            ("pretrain", "", 40, 7e-4, 2)
        p = saved["pretrain"]
        assert (p["preset"], p["train_tokenizer"], p["vocab_size"], p["nsp"], p["wwm"],
                p["max_seq_length"]) == ("mini", True, 800, False, True, 64)
        out = dict(zip(pretrain_tab.STATUS_API_KEYS,
                       client.predict(run, api_name="/pretrain_status"), strict=True))
        assert out["latest"]["state"] == "queued" and "Waiting for the machine" in out["progress"]
        # Bad settings: nothing is created.
        values[pretrain_tab.FORM_KEYS.index("max_steps")] = 0
        message = client.predict(*values, api_name="/pretrain_start")[0]
        assert "Max steps" in message and [p.name for p in runs_dir.iterdir()] == [run]
    finally:
        demo.close()


def test_uploads_over_the_limit_are_refused_with_their_size(tmp_path):
    class Limited:
        limits = {"max_upload_bytes": 1000}

    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    small.write_text("text,label\n" + "a,b\n" * 10)
    big.write_text("text,label\n" + "a,b\n" * 1000)
    assert common.check_upload_size(Limited(), str(small)) == str(small)
    with pytest.raises(BadInput, match=r"big.csv is 3.9 KB; uploads here are limited to 1.0 KB"):
        common.check_upload_size(Limited(), str(big))
