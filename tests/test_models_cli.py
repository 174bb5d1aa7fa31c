"""The model registry and the CLI frame: offline-first resolution, fast failure for unreachable
hub ids, `models` and `runs` commands, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bertlab.modeling import registry as models
from bertlab.training import runs
from bertlab.cli import main
from bertlab.errors import ModelNotFound

ROOT = Path(__file__).resolve().parents[1]


def test_default_resolves_offline_to_the_embedded_bert():
    source = models.resolve("default")
    assert source.kind == "default" and Path(source.path, "model.safetensors").exists()
    info = models.describe("default")
    assert info.hidden_size == 384 and info.num_layers == 6 and info.vocab_size == 30522
    assert info.parameters > 20_000_000


def test_unresolvable_hub_id_fails_fast_with_exit_2(monkeypatch, capsys):
    # Not offline by flag: the network probe itself must give up quickly on this closed network.
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    start = time.monotonic()
    code = main(["models", "--resolve", "no-such-org/no-such-bert-model"])
    elapsed = time.monotonic() - start
    err = capsys.readouterr().err
    assert code == 2 and elapsed < 3.0, elapsed
    assert "no-such-org/no-such-bert-model" in err and "offline choices" in err and "default" in err
    assert "Traceback" not in err


def test_cli_subprocess_exit_code_and_one_line_error():
    proc = subprocess.run([sys.executable, "-m", "bertlab", "models", "--resolve", "bert-base-uncased-x"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("error:")


def test_local_folder_and_finished_run_resolve(make_tiny_model, runs_dir, capsys):
    folder = make_tiny_model("masked-lm")
    assert models.resolve(str(folder)).kind == "local"
    # a finished run is listed and resolvable by its id
    run = runs_dir / "20260101-000000-pretrain-abcd"
    (run / "final").mkdir(parents=True)
    for f in folder.iterdir():
        (run / "final" / f.name).write_bytes(f.read_bytes())
    runs.write_status(run, "finished", "done")
    assert models.resolve(run.name).path == str(run / "final")
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    names = {r["name"]: r for r in rows}
    assert "default" in names and run.name in names and "masked-lm" in names[run.name]["heads"]
    assert main(["models", "--resolve", str(folder), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["heads"] == ["masked-lm"] and info["hidden_size"] == 32


def test_a_folder_that_is_not_a_model_is_bad_input(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ModelNotFound, match="not a save_pretrained folder"):
        models.resolve(str(tmp_path))


def test_runs_commands_list_show_stop_delete(runs_dir, capsys):
    from bertlab.config import TrainConfig

    config = TrainConfig(task="finetune")
    folder = runs.prepare_run_dir(config)
    runs.write_status(folder, "stopped", "stopped at step 3 on request")
    assert main(["runs", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["run"] == folder.name and rows[0]["state"] == "stopped"
    assert main(["runs", "show", folder.name, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"]["state"] == "stopped"
    assert main(["runs", "show", "nope"]) == 2
    assert main(["runs", "delete", folder.name]) == 0
    assert not folder.exists()


def test_a_running_run_whose_process_died_reads_as_interrupted(runs_dir):
    from bertlab.config import TrainConfig

    folder = runs.prepare_run_dir(TrainConfig(task="finetune"))
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    runs.write_status(folder, "running", "training", pid=proc.pid)
    status = runs.read_status(folder)
    assert status["state"] == "interrupted" and "resume" in status["message"]
    with pytest.raises(Exception, match="stop it first|running"):
        runs.write_status(folder, "running", "training", pid=__import__("os").getpid())
        runs.delete_run(folder)


def test_config_refuses_unknown_keys(tmp_path):
    from bertlab.config import TrainConfig
    from bertlab.errors import BadInput

    path = tmp_path / "run_config.json"
    path.write_text(json.dumps({"task": "finetune", "learning_rate": 1e-3}))
    with pytest.raises(BadInput, match="unknown key.*learning_rate"):
        TrainConfig.load(path)
    path.write_text("{not json")
    with pytest.raises(BadInput, match="not valid JSON"):
        TrainConfig.load(path)
