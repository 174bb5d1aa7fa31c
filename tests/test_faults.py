"""Faults a lab survives: a training worker killed with SIGKILL (shown as interrupted, resumed from
its last complete checkpoint, a half-written checkpoint never loaded), a second run waiting in the
queue with its position, and broken run folders (unwritable output, deleted folder, corrupt
run_config.json / status.json) that give clear messages while every other run stays listed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from bertlab.training import runs
from bertlab.config import FinetuneConfig, TrainConfig
from bertlab.errors import BadInput
from bertlab.service import Service
import conftest



def write_labeled_csv(path: Path, n: int = 96) -> Path:
    return conftest.write_labeled_csv(path, n=n, header=("text", "label"))


def finetune_config(model: Path, data: Path, max_steps: int, save_every: int) -> TrainConfig:
    return TrainConfig(task="finetune", model=str(model), max_steps=max_steps, batch_size=8, lr=1e-3,
                       log_every=5, eval_every=1000, save_every=save_every, keep_checkpoints=2,
                       finetune=FinetuneConfig(train=str(data), max_length=32))


def wait_for(predicate, timeout: float, what: str, poll: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def kill(pid) -> None:
    try:
        os.kill(int(pid), signal.SIGKILL)
    except ProcessLookupError:
        pass


def pid_gone(pid) -> bool:
    try:
        os.waitpid(int(pid), os.WNOHANG)  # reap it if it is our child
    except ChildProcessError:
        pass
    return not runs._pid_alive(pid)


def make_finished_run(root: Path, name: str) -> Path:
    """A run folder as a finished run leaves it (status, config, results; no weights needed)."""
    folder = root / name
    folder.mkdir(parents=True)
    TrainConfig(task="finetune", out=str(folder)).save(folder / "run_config.json")
    runs.write_status(folder, "finished", "finished 10 steps", pid=None)
    runs.atomic_write_json(folder / "results.json", {"step": 10, "eval_accuracy": 0.9})
    return folder


# ------------------------------------------------------------------------------ kill -9 and resume


def test_killed_worker_is_interrupted_then_resumes_from_last_complete_checkpoint(
        make_tiny_model, runs_dir, tmp_path, monkeypatch):
    # One thread per worker: on a small shared machine, thread contention makes steps erratic.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    model = make_tiny_model("base")
    data = write_labeled_csv(tmp_path / "train.csv")
    total = 120
    folder = Path(runs.start_run(finetune_config(model, data, max_steps=total, save_every=20)))
    pids = []
    try:
        # Kill the worker as soon as it has written one complete checkpoint.
        first = wait_for(lambda: runs.complete_checkpoints(folder), 90, "the first complete checkpoint")
        pid = runs.read_json(folder / "status.json")["pid"]
        pids.append(pid)
        assert runs.read_status(folder)["state"] == "running"

        # A second run started meanwhile waits for the machine, and says where it is in the queue.
        second = Path(runs.start_run(finetune_config(model, data, max_steps=10, save_every=0)))
        second_pid = runs.read_json(second / "status.json")["pid"]
        pids.append(second_pid)
        assert runs.read_status(second)["state"] == "queued"
        position = [r for r in runs.list_runs() if r["run"] == second.name][0]["queue_position"]
        assert position in (1, 2)  # next in line; whether the running run counts is queue_position's call

        kill(pid)
        kill(second_pid)
        wait_for(lambda: pid_gone(pid) and pid_gone(second_pid), 10, "the killed workers to exit")

        status = runs.read_status(folder)
        assert status["state"] == "interrupted", status
        assert "resume" in status["message"]
        assert runs.read_status(second)["state"] == "interrupted"
        assert {r["run"]: r["state"] for r in runs.list_runs()} == {folder.name: "interrupted",
                                                                    second.name: "interrupted"}
        last_complete = runs.complete_checkpoints(folder)[-1]
        assert int(last_complete.name.split("-")[1]) >= int(first[0].name.split("-")[1])
        assert not (folder / "final").exists()

        # What a crash in the middle of a checkpoint leaves: a later step folder without the
        # COMPLETE marker (garbage inside) and a temporary folder. Neither may ever be loaded.
        torn = folder / "checkpoints" / f"step-{total - 1}"
        torn.mkdir()
        (torn / "model.safetensors").write_bytes(b"half a file")
        (torn / "trainer_state.json").write_text('{"step": ')
        (folder / "checkpoints" / f".tmp-step-{total - 2}").mkdir()
        assert runs.complete_checkpoints(folder)[-1] == last_complete

        resumed = Path(runs.resume_run(folder.name))
        assert resumed == folder
        pids.append(runs.read_json(folder / "status.json")["pid"])
        wait_for(lambda: runs.read_status(folder)["state"] in ("finished", "failed", "interrupted"),
                 120, "the resumed run to end", poll=0.25)
        status = runs.read_status(folder)
        assert status["state"] == "finished", (status, (folder / "worker.log").read_text()[-2000:])
        events = runs.read_events(folder)
        resume_events = [e for e in events if e.get("type") == "resume"]
        assert [e["checkpoint"] for e in resume_events] == [last_complete.name]
        assert resume_events[0]["step"] == int(last_complete.name.split("-")[1])
        # The resumed part starts right after the checkpoint and runs to the end.
        steps = [e["step"] for e in events if e.get("type") == "train"]
        assert steps == sorted(steps) and steps[-1] == total
        assert runs.read_json(folder / "results.json")["step"] == total
        assert (folder / "final" / "config.json").exists()
    finally:
        for pid in pids:
            kill(pid)


@pytest.mark.parametrize("damage", ["truncated weights", "garbage trainer state", "truncated optimizer"])
def test_resume_skips_a_damaged_checkpoint_and_keeps_the_events_before_it(make_tiny_model, tmp_path, damage):
    """A checkpoint cut short (full disk, killed copy) or with a garbage trainer_state.json is not
    resumed from: the run falls back to the newest intact checkpoint, says so, and keeps its events."""
    from bertlab.training.engine import train

    data = write_labeled_csv(tmp_path / "train.csv")
    config = finetune_config(make_tiny_model("classification"), data, max_steps=8, save_every=4)
    config.out = str(tmp_path / "run")
    config.keep_checkpoints = 3
    train(config, show_progress=False)
    folder = Path(config.out)
    newest = folder / "checkpoints" / "step-8"
    assert [p.name for p in runs.complete_checkpoints(folder)] == ["step-4", "step-8"]
    if damage == "truncated weights":
        weights = newest / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    elif damage == "garbage trainer state":
        (newest / "trainer_state.json").write_text('{"step": "zero"}')
    else:
        optimizer = newest / "optimizer.bin"
        optimizer.write_bytes(optimizer.read_bytes()[:100])
    before = [e for e in runs.read_events(folder) if e.get("type") == "train" and e["step"] <= 4]
    runs.write_status(folder, "stopped", "stopped at step 8", pid=None)
    config = TrainConfig.load(folder / "run_config.json")
    config.max_steps = 12
    results = train(config, resume=True, show_progress=False)
    assert results["step"] == 12
    events = runs.read_events(folder)
    resumed = [e for e in events if e.get("type") == "resume"]
    assert resumed[-1]["checkpoint"] == "step-4" and "step-8" in resumed[-1]["message"]
    assert [e for e in events if e.get("type") == "train" and e["step"] <= 4] == before


def test_disk_full_during_a_checkpoint_fails_cleanly_and_the_run_resumes(make_tiny_model, tmp_path, monkeypatch, capsys):
    """ENOSPC while a checkpoint is written: the partial checkpoint is removed, the run is marked
    failed with "disk full" and the size it needs, the earlier checkpoint stays intact, the CLI
    prints one line (no traceback), and once there is space the run resumes."""
    import errno

    import accelerate

    from bertlab.cli import main

    data = write_labeled_csv(tmp_path / "train.csv")
    out = tmp_path / "full"
    real_save = accelerate.Accelerator.save_state
    calls = []

    def save_until_the_disk_fills(self, output_dir=None, **kwargs):
        calls.append(output_dir)
        if len(calls) == 2:  # the second checkpoint: half written, then the disk is full
            Path(output_dir).mkdir(parents=True, exist_ok=True)
            (Path(output_dir) / "model.safetensors").write_bytes(b"\0" * 1000)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, output_dir, **kwargs)

    monkeypatch.setattr(accelerate.Accelerator, "save_state", save_until_the_disk_fills)
    code = main(["finetune", "--train", str(data), "--model", str(make_tiny_model("classification")),
                 "--max-steps", "12", "--save-every", "4", "--batch-size", "8", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 1 and "Traceback" not in err and len(errors) == 1 and "disk full" in errors[0], err
    status = runs.read_status(out)
    assert status["state"] == "failed" and "disk full while writing checkpoint step-8" in status["message"]
    assert "MB" in status["message"]
    assert [p.name for p in (out / "checkpoints").iterdir()] == ["step-4"]  # no partial folder left
    monkeypatch.setattr(accelerate.Accelerator, "save_state", real_save)
    assert main(["finetune", "--resume", str(out), "--quiet"]) == 0
    assert json.loads((out / "results.json").read_text())["step"] == 12


# ------------------------------------------------------------------------------ broken folders


def test_unwritable_output_folder_is_a_clear_error(runs_dir, tmp_path):
    other = make_finished_run(runs_dir, "20240101-000000-finetune-aaaa")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    # Root ignores chmod, so a path *through a regular file* is what cannot be written here.
    config = TrainConfig(task="finetune", out=str(blocker / "sub" / "run"),
                         finetune=FinetuneConfig(train=str(tmp_path / "train.csv")))
    with pytest.raises(BadInput) as info:
        runs.start_run(config)
    assert "cannot write to the output folder" in str(info.value)
    assert str(blocker / "sub" / "run") in str(info.value)
    with pytest.raises(BadInput):
        Service().start_run(config)
    assert [r["run"] for r in runs.list_runs()] == [other.name]
    assert runs.read_status(other)["state"] == "finished"


def test_deleted_run_folder_gives_clear_messages(runs_dir):
    keep = make_finished_run(runs_dir, "20240101-000000-finetune-keep")
    gone = make_finished_run(runs_dir, "20240102-000000-finetune-gone")
    service = Service()
    assert service.run_state(gone.name)["summary"]["state"] == "finished"
    shutil.rmtree(gone)  # deleted behind the page's back (another browser, the CLI, a person)
    for action in (service.run_state, service.resume_run, service.model_zip, service.delete_run,
                   service.stop_run):
        with pytest.raises(BadInput, match="not found"):
            action(gone.name)
    assert [r["run"] for r in service.list_runs()] == [keep.name]
    # Stop on a finished run: refused, and no STOP file is left to stop its next resume at once.
    with pytest.raises(BadInput, match="nothing to stop"):
        service.stop_run(keep.name)
    assert not (keep / "STOP").exists()


def test_corrupt_run_config_and_status_give_clear_messages(runs_dir):
    good = make_finished_run(runs_dir, "20240101-000000-finetune-good")
    bad_config = make_finished_run(runs_dir, "20240102-000000-finetune-badc")
    runs.write_status(bad_config, "stopped", "stopped at step 5")
    (bad_config / "run_config.json").write_text('{"task": "finetune", "epochs": ', encoding="utf-8")
    bad_status = make_finished_run(runs_dir, "20240103-000000-finetune-bads")
    (bad_status / "status.json").write_bytes(b"\xff\xfe not json at all")
    unknown_key = make_finished_run(runs_dir, "20240104-000000-finetune-keyx")
    runs.write_status(unknown_key, "failed", "NaN loss")
    data = json.loads((unknown_key / "run_config.json").read_text())
    data["learning_rat"] = 0.1
    (unknown_key / "run_config.json").write_text(json.dumps(data))

    service = Service()
    listed = {r["run"]: r for r in service.list_runs()}  # one bad folder never hides the others
    assert set(listed) == {good.name, bad_config.name, bad_status.name, unknown_key.name}
    assert listed[good.name]["state"] == "finished"
    assert listed[bad_status.name]["state"] == "interrupted"
    assert "status.json" in listed[bad_status.name]["message"]

    with pytest.raises(BadInput) as info:
        service.resume_run(bad_config.name)
    assert "run_config.json" in str(info.value) and "not valid JSON" in str(info.value)
    with pytest.raises(BadInput) as info:
        service.resume_run(unknown_key.name)
    assert "learning_rat" in str(info.value)
    # Looking at a broken run still works: the page shows what can be read.
    assert service.run_state(bad_config.name)["summary"]["state"] == "stopped"
    assert service.run_state(bad_status.name)["status"]["state"] == "interrupted"
    assert runs.read_status(good)["state"] == "finished"


def test_damaged_run_folders_are_listed_as_damaged_and_never_take_anything_down(runs_dir, make_tiny_model, capsys):
    """Random bytes or a JSON array as run_config.json in a finished run with a model, damaged
    lines in events.jsonl, a pid that is not a number: the app still builds (lab and demo), the CLI
    lists runs and models, and each damaged run says what is wrong without hiding the others."""
    from bertlab.cli import main

    good = make_finished_run(runs_dir, "20240101-000000-finetune-good")
    shutil.copytree(make_tiny_model("classification"), good / "final")
    noise = make_finished_run(runs_dir, "20240102-000000-finetune-noise")
    shutil.copytree(make_tiny_model("classification"), noise / "final")
    (noise / "run_config.json").write_bytes(os.urandom(256))
    array = make_finished_run(runs_dir, "20240103-000000-finetune-array")
    shutil.copytree(make_tiny_model("classification"), array / "final")
    (array / "run_config.json").write_text("[]", encoding="utf-8")
    events = make_finished_run(runs_dir, "20240104-000000-finetune-events")
    (events / "events.jsonl").write_bytes(b'{"type": "train", "step": 3, "loss": 0.5}\n' + os.urandom(64)
                                          + b'\n[1, 2]\n7\n"text"\n{"type": "train", "step": 4, "loss": 0.4}\n')
    pid = make_finished_run(runs_dir, "20240105-000000-finetune-pid")
    runs.write_status(pid, "running", "training", pid="not-a-number")

    listed = {r["run"]: r for r in runs.list_runs()}
    assert set(listed) == {good.name, noise.name, array.name, events.name, pid.name}
    assert "run_config.json is not valid JSON" in listed[noise.name]["message"]
    assert "run_config.json holds a list" in listed[array.name]["message"]
    assert listed[events.name]["step"] == 4 and listed[events.name]["loss"] == 0.4
    assert listed[pid.name]["state"] == "interrupted"
    names = {row["name"] for row in Service().list_models("classify")}
    assert {good.name, noise.name, array.name} <= names

    assert main(["runs", "list"]) == 0
    assert noise.name in capsys.readouterr().out
    assert main(["models", "--json"]) == 0
    assert good.name in capsys.readouterr().out
    import app

    for demo_mode in (False, True):
        assert app.create_demo(demo_mode=demo_mode) is not None


def test_background_resume_keeps_the_new_step_limit(runs_dir, tmp_path, make_tiny_model, capsys):
    """`--resume R --max-steps N --background`: the worker trains to N, not to the old schedule,
    and the run's run_config.json says N (so a later resume agrees)."""
    from bertlab.cli import main

    data = write_labeled_csv(tmp_path / "train.csv")
    out = runs_dir / "limits"
    assert main(["finetune", "--train", str(data), "--model", str(make_tiny_model("classification")),
                 "--epochs", "50", "--max-steps", "3", "--batch-size", "8", "--out", str(out), "--quiet"]) == 0
    # Make it resumable as a run stopped part-way (a finished run is not resumed).
    runs.write_status(out, "stopped", "stopped at step 3", pid=None)
    assert main(["finetune", "--resume", str(out), "--max-steps", "6", "--background"]) == 0
    wait_for(lambda: runs.read_status(out)["state"] in ("finished", "failed", "stopped"), 180, "the resumed run")
    assert runs.read_status(out)["state"] == "finished", (out / "worker.log").read_text()[-2000:]
    assert json.loads((out / "results.json").read_text())["step"] == 6
    assert json.loads((out / "run_config.json").read_text())["max_steps"] == 6


def test_demo_service_refuses_to_start_or_resume_training(runs_dir, tmp_path):
    stopped = make_finished_run(runs_dir, "20240101-000000-finetune-stop")
    runs.write_status(stopped, "stopped", "stopped at step 5")
    demo = Service(demo=True)
    config = TrainConfig(task="finetune", finetune=FinetuneConfig(train=str(tmp_path / "x.csv")))
    with pytest.raises(BadInput, match="switched off"):
        demo.start_run(config)
    with pytest.raises(BadInput, match="switched off"):
        demo.resume_run(stopped.name)
    assert [r["run"] for r in runs.list_runs()] == [stopped.name]
    # No existence oracle for server paths: descriptions, estimates and sample batches name only
    # listed models in a demo (the lab, on the user's own machine, still reads local folders).
    for path in ("/etc/shadow", str(tmp_path), "/root/.ssh"):
        with pytest.raises(BadInput, match="not offered in this demo"):
            demo.describe(path, "classify")
    with pytest.raises(BadInput, match="switched off"):
        demo.estimate(config)
    with pytest.raises(BadInput, match="switched off"):
        demo.preview_pretraining(TrainConfig(task="pretrain", model="/etc"))
