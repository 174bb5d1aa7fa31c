"""Runs started under `accelerate launch --config_file F`: from the page (an uploaded config) and
from the CLI (`--accelerate-config F`). Two CPU processes (gloo) stand in for two GPUs: the run
must train as one run of two processes (run_config.json says so, one process writes), and a bad
config file is refused with its name and the offending key before anything starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bertlab.training import runs
from bertlab.errors import BadInput
from bertlab.training.launch import check_accelerate_config

sys.path.insert(0, str(Path(__file__).parent))
from conftest import write_labeled_csv  # noqa: E402
from test_ui_training import NoWorkerService, Page, _finetune_form, _launch, _value  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TWO_CPU_PROCESSES = ROOT / "examples" / "accelerate" / "cpu_2proc.yaml"


@pytest.fixture
def cpu_processes(monkeypatch):
    """Launched processes use the CPU (gloo) even on a machine with a GPU, one thread each."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_shipped_accelerate_configs_pass_the_check():
    shipped = sorted((ROOT / "examples" / "accelerate").glob("*.yaml"))
    assert len(shipped) >= 4
    for path in shipped:
        settings = check_accelerate_config(path)
        assert settings["distributed_type"] in ("MULTI_GPU", "DEEPSPEED", "FSDP"), path.name


@pytest.mark.parametrize("text, words", [
    ("distributed_type: MULTI_GPU\nnum_processes: 2\ncommands: [rm -rf /]\n", ["bad.yaml", "commands"]),
    ("distributed_type: MULTI_GPU\nnum_processes: two\n", ["bad.yaml", "num_processes", "'two'"]),
    ("distributed_type: MULTI_GPU\nnum_processes: [2\n", ["bad.yaml", "not valid YAML", "line"]),
    ("distributed_type: SEVERAL\n", ["bad.yaml", "distributed_type", "SEVERAL"]),
    ("compute_environment: AMAZON_SAGEMAKER\n", ["bad.yaml", "AMAZON_SAGEMAKER", "LOCAL_MACHINE"]),
    ("just some words\n", ["bad.yaml", "mapping"]),
])
def test_bad_accelerate_configs_are_refused_with_file_and_key(tmp_path, text, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BadInput) as caught:
        check_accelerate_config(path)
    for word in words:
        assert word in str(caught.value), (word, str(caught.value))


def test_json_accelerate_config_is_read(tmp_path):
    path = tmp_path / "two.json"
    path.write_text(json.dumps({"distributed_type": "MULTI_CPU", "num_processes": 2}), encoding="utf-8")
    assert check_accelerate_config(path)["num_processes"] == 2
    with pytest.raises(BadInput, match="missing.yaml"):
        check_accelerate_config(tmp_path / "missing.yaml")


def test_page_starts_a_run_under_accelerate_launch_with_an_uploaded_config(
        runs_dir, make_tiny_model, tmp_path, cpu_processes):
    from gradio_client import Client, handle_file

    from bertlab.service import Service

    model = make_tiny_model("base")
    data = write_labeled_csv(tmp_path / "reviews.csv", n=64)
    bad = tmp_path / "pod.yaml"
    bad.write_text("distributed_type: MULTI_GPU\ntpu_name: my-pod\n", encoding="utf-8")
    demo, _ = _launch(Service())
    try:
        page = Page(Client(demo.local_url, verbose=False))
        # A config bertlab will not launch: refused with the file and key named; no run folder.
        message, _, _ = page.client.predict(
            *_finetune_form(handle_file(str(data)), model, epochs=1, accelerate_config=handle_file(str(bad))),
            api_name="/finetune_start")
        shown = message.replace("\\", "")  # the Markdown's escapes, as the page renders it
        assert "pod.yaml" in shown and "tpu_name" in shown and not list(runs_dir.iterdir())

        # Two CPU processes: 64 rows - 10% validation = 57 training rows, batch 8 per process.
        message, run, _ = page.client.predict(
            *_finetune_form(handle_file(str(data)), model, epochs=2,
                            accelerate_config=handle_file(str(TWO_CPU_PROCESSES))),
            api_name="/finetune_start")
        run = _value(run)
        assert "Started run" in message, message
        view, _ = page.wait(run, lambda s: s.get("state") in ("finished", "failed", "interrupted"), timeout=240)
        log = (runs_dir / run / "worker.log").read_text(errors="replace")
        assert view["latest"]["state"] == "finished", log[-3000:]
    finally:
        demo.close()
    folder = runs_dir / run
    config = json.loads((folder / "run_config.json").read_text())
    # The run owns a copy of the config it was launched with, and records the process group.
    assert config["accelerate_config"] == str(folder / "data" / "accelerate" / "cpu_2proc.yaml")
    assert (config["num_processes"], config["distributed_type"]) == (2, "MULTI_CPU")
    # 57 rows in global batches of 16: 4 steps an epoch, 8 in all; one writer, one line per step.
    events = runs.read_events(folder)
    assert [e["step"] for e in events if e["type"] == "train"][-1] == 8
    assert sum(e["type"] == "end" for e in events) == 1
    assert (folder / "final" / "model.safetensors").exists()
    assert "launching:" in log and "accelerate.commands.launch" in log


def test_cli_accelerate_config_runs_the_command_under_the_launcher(runs_dir, make_tiny_model, tmp_path,
                                                                   cpu_processes):
    model = make_tiny_model("base")
    data = write_labeled_csv(tmp_path / "reviews.csv", n=64)
    env = dict(os.environ, BERTLAB_RUNS=str(runs_dir),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    base = [sys.executable, "-m", "bertlab", "finetune", "--train", str(data), "--model", str(model),
            "--max-steps", "3", "--batch-size", "8", "--quiet", "--json"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("num_processes: 0\n", encoding="utf-8")
    refused = subprocess.run(base + ["--out", str(runs_dir / "bad"), "--accelerate-config", str(bad)],
                             env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "bad.yaml" in refused.stderr and "num_processes" in refused.stderr
    assert not (runs_dir / "bad").exists()

    out = runs_dir / "two"
    done = subprocess.run(base + ["--out", str(out), "--accelerate-config", str(TWO_CPU_PROCESSES)],
                          env=env, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-4000:]
    # Only the main process reports: one JSON result on stdout.
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(results) == 1 and results[0]["num_processes"] == 2 and results[0]["step"] == 3
    assert json.loads((out / "run_config.json").read_text())["num_processes"] == 2


def test_pretraining_tab_stages_the_uploaded_config_with_the_run(runs_dir, tmp_path):
    from gradio_client import Client, handle_file

    from bertlab.ui import pretrain_tab
    from test_ui_training import _form, _write_corpus

    corpus = _write_corpus(tmp_path / "corpus.txt")
    demo, _ = _launch(NoWorkerService())
    try:
        client = Client(demo.local_url, verbose=False)
        values = _form(pretrain_tab.FORM_KEYS, corpus_examples=[], corpus_files=[handle_file(str(corpus))],
                       start_from="scratch", preset="tiny", model="", train_tokenizer=True, vocab_size=500,
                       nsp=True, wwm=False, max_seq_length=32, batch_size=8, lr=1e-3, max_steps=5,
                       max_minutes=0, warmup=0.1, eval_every=5, seed=1,
                       accelerate_config=handle_file(str(TWO_CPU_PROCESSES)))
        message, run, _ = client.predict(*values, api_name="/pretrain_start")
        run = _value(run)
        assert "Started run" in message, message
    finally:
        demo.close()
    saved = runs.read_json(runs_dir / run / "run_config.json")
    staged = runs_dir / run / "data" / "accelerate" / "cpu_2proc.yaml"
    assert saved["accelerate_config"] == str(staged)
    assert staged.read_text() == TWO_CPU_PROCESSES.read_text()
