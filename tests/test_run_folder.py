"""The run folder (bertlab.training.run_folder): events read incrementally by byte offset, uploads staged by
the service, and run folders written before RunFolder existed still listed, shown and resumed."""

from __future__ import annotations

import json
import os

import pytest

from bertlab.training import runs
from bertlab.config import TrainConfig
from bertlab.errors import BadInput
from bertlab.training.run_folder import EventReader, RunFolder


def _line(event: dict) -> bytes:
    return (json.dumps(event) + "\n").encode()


def test_incremental_read_returns_only_new_events(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(_line({"type": "train", "step": 1}) + _line({"type": "train", "step": 2}))
    reader = EventReader(path)
    assert [e["step"] for e in reader.read()] == [1, 2]
    assert reader.read() == []  # nothing new: nothing parsed
    with open(path, "ab") as handle:
        handle.write(_line({"type": "eval", "step": 2}))
    assert reader.read() == [{"type": "eval", "step": 2}]
    assert [e["step"] for e in reader.events] == [1, 2, 2]
    assert reader.offset == path.stat().st_size


def test_a_half_written_last_line_waits_until_it_is_complete(tmp_path):
    path = tmp_path / "events.jsonl"
    whole = _line({"type": "train", "step": 3, "loss": 0.5})
    path.write_bytes(_line({"type": "train", "step": 2}) + whole[:10])
    reader = EventReader(path)
    assert [e["step"] for e in reader.read()] == [2]
    with open(path, "ab") as handle:
        handle.write(whole[10:-1])  # all but the newline: the engine may still be writing
    assert reader.read() == []
    with open(path, "ab") as handle:
        handle.write(b"\n")
    assert reader.read() == [{"type": "train", "step": 3, "loss": 0.5}]


def test_a_replaced_events_file_is_read_again_from_the_start(tmp_path):
    """A resume trims the events after its checkpoint by rewriting the file."""
    folder = RunFolder(tmp_path)
    for step in (1, 2, 3, 4):
        folder.append_event({"type": "train", "step": step})
    reader = folder.event_reader()
    assert len(reader.read()) == 4
    folder.trim_events_after(2)
    folder.append_event({"type": "resume", "step": 2})
    reader.read()
    assert [(e["type"], e["step"]) for e in reader.events] == [("train", 1), ("train", 2), ("resume", 2)]


def test_damaged_lines_are_skipped_and_a_complete_unterminated_line_counts_in_a_one_off_read(tmp_path):
    folder = RunFolder(tmp_path)
    (tmp_path / "events.jsonl").write_bytes(_line({"step": 1}) + os.urandom(40) + b"\n[1]\n" + b'{"step": 2}')
    assert [e["step"] for e in folder.events()] == [1, 2]


def test_the_service_polls_a_run_incrementally(runs_dir):
    from bertlab.service import Service

    folder = RunFolder.create("finetune", runs_dir / "r1")
    folder.write_config(TrainConfig(task="finetune"))
    folder.write_status("running", "training", pid=os.getpid())
    folder.append_event({"type": "train", "step": 1, "total_steps": 4, "loss": 0.9})
    service = Service()
    assert [e["step"] for e in service.run_state("r1")["events"]] == [1]
    folder.append_event({"type": "train", "step": 2, "total_steps": 4, "loss": 0.8})
    state = service.run_state("r1")
    assert [e["step"] for e in state["events"]] == [1, 2]
    assert state["summary"]["step"] == 2 and state["summary"]["loss"] == 0.8
    _, reader = service._event_readers[str(folder.path)]
    assert reader.offset == (folder.path / "events.jsonl").stat().st_size


def test_the_service_stages_uploads_into_the_run_folder(runs_dir, tmp_path, monkeypatch):
    from bertlab.service import Service

    started = {}
    monkeypatch.setattr(runs, "start_run", lambda config, folder: started.update(config=config, folder=folder)
                        or str(folder.path))
    upload = tmp_path / "cache" / "my data.csv"
    upload.parent.mkdir()
    upload.write_text("text,label\na,x\n")
    example = tmp_path / "example.csv"
    example.write_text("text,label\nb,y\n")
    config = TrainConfig(task="finetune")
    config.finetune.train, config.finetune.validation = str(upload), str(example)
    path = Service().start_run(config, uploads=[str(upload), ""])
    assert started["config"].finetune.train == f"{path}/data/train/my data.csv"
    assert started["config"].finetune.validation == str(example)  # not an upload: read where it is
    assert (runs_dir / os.path.basename(path) / "data" / "train" / "my data.csv").read_text() == upload.read_text()

    config = TrainConfig(task="pretrain")
    config.pretrain.corpus = [str(example), str(upload)]
    path = Service().start_run(config, uploads=[str(upload)])
    assert started["config"].pretrain.corpus == [str(example), f"{path}/data/corpus1/my data.csv"]


def test_a_run_that_cannot_start_leaves_no_folder(runs_dir, tmp_path):
    from bertlab.service import Service

    bad = tmp_path / "accelerate.yaml"
    bad.write_text("num_processes: [")
    config = TrainConfig(task="finetune", accelerate_config=str(bad))
    config.finetune.train = str(tmp_path / "x.csv")
    with pytest.raises(BadInput):
        Service().start_run(config, uploads=[str(bad)])
    assert list(runs_dir.iterdir()) == []
    with pytest.raises(BadInput, match="public demo"):
        Service(demo=True).start_run(TrainConfig(task="finetune"))


def test_a_run_folder_written_before_run_folder_existed_lists_shows_and_resumes(runs_dir, monkeypatch):
    """The files as the earlier versions wrote them (no data_summary.json, eval_latest.json or
    worker.log; a status without pid): listed, shown, and resumed with its own config."""
    old = runs_dir / "20240101-000000-finetune-old1"
    (old / "checkpoints" / "step-4").mkdir(parents=True)
    (old / "checkpoints" / "step-4" / "COMPLETE").write_text("ok\n")
    (old / "run_config.json").write_text(json.dumps(TrainConfig(task="finetune", out=str(old), lr=2e-4).to_dict()))
    (old / "status.json").write_text(json.dumps({"state": "stopped", "message": "stopped at step 4",
                                                 "created": 1704067200.0, "updated": 1704067300.0}))
    (old / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in (
        {"type": "train", "step": 2, "total_steps": 8, "loss": 0.7},
        {"type": "train", "step": 4, "total_steps": 8, "loss": 0.6})))

    (row,) = runs.list_runs()
    assert (row["run"], row["state"], row["step"], row["loss"], row["resumable"]) == (old.name, "stopped", 4, 0.6, True)
    from bertlab.service import Service

    state = Service().run_state(old.name)
    assert state["config"]["lr"] == 2e-4 and state["eval_details"] == {} and state["data_summary"] == {}
    resumed = {}
    monkeypatch.setattr(runs, "start_run", lambda config, resume=False: resumed.update(config=config, resume=resume)
                        or config.out)
    assert runs.resume_run(old.name) == str(old)
    assert resumed["resume"] and resumed["config"].lr == 2e-4
