"""Model compression (bertlab.inference.compress, `export-onnx`, the Runs tab's panel): a finished fine-tuning
run becomes ONNX and int8 files with a report of size, latency and validation figures per form,
and the files run with onnxruntime and tokenizers alone."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bertlab.training import runs
from bertlab.cli import main
from bertlab.errors import BadInput
from conftest import finished_run, finished_sentiment_run, write_labeled_csv

# Runs in a fresh `python -I` (no bertlab on the path): what a user of the exported folder has.
STANDALONE = r"""
import json, sys
import numpy as np, onnxruntime as ort
from tokenizers import Tokenizer
folder, text = sys.argv[1], sys.argv[2]
tok = Tokenizer.from_file(folder + "/tokenizer.json")
id2label = json.load(open(folder + "/config.json"))["id2label"]
e = tok.encode(text)
feed = {k: np.array([v], dtype=np.int64) for k, v in
        (("input_ids", e.ids), ("attention_mask", e.attention_mask), ("token_type_ids", e.type_ids))}
out = {}
for name in ("model.onnx", "model.int8.onnx"):
    logits = ort.InferenceSession(folder + "/" + name, providers=["CPUExecutionProvider"]).run(None, feed)[0][0]
    p = np.exp(logits - logits.max()); p /= p.sum()
    out[name] = {"label": id2label[str(int(p.argmax()))], "probs": p.tolist()}
out["imported"] = sorted(m for m in ("bertlab", "torch", "transformers") if m in sys.modules)
print(json.dumps(out))
"""


@pytest.fixture
def ft_run(runs_dir):
    """A finished fine-tuning run of a tiny classifier, with its training file still in place."""
    return finished_sentiment_run(runs_dir / "finetune-tiny", write_labeled_csv(runs_dir / "reviews.csv", n=80))


def test_export_onnx_writes_every_form_and_they_run_without_bertlab(ft_run, capsys):
    from bertlab.inference.classify import classify
    from bertlab.modeling.registry import load_model
    from bertlab.service import Service
    from bertlab.ui.compress_view import report_frame

    assert main(["export-onnx", ft_run.name, "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    out = ft_run / "export"
    assert {"model.onnx", "model.int8.onnx", "tokenizer.json", "config.json", "export.json"} <= {
        p.name for p in out.iterdir()}
    forms = {row["form"]: row for row in report["forms"]}
    assert list(forms) == ["pytorch", "onnx", "int8"]
    assert report["validation_rows"] == 8  # the run's own 10% stratified split of 80 rows
    for row in forms.values():
        assert row["size_mb"] > 0 and row["p50_ms"] > 0 and 0 <= row["accuracy"] <= 1 and 0 <= row["f1"] <= 1
    assert forms["onnx"]["accuracy"] == forms["pytorch"]["accuracy"]
    assert forms["onnx"]["agreement_with_pytorch"] == 1.0
    assert json.loads((out / "export.json").read_text())["forms"] == report["forms"]

    text = "a good fun movie"
    proc = subprocess.run([sys.executable, "-I", "-c", STANDALONE, str(out), text], capture_output=True,
                          text=True, timeout=120, cwd=str(out))
    assert proc.returncode == 0, proc.stderr
    alone = json.loads(proc.stdout)
    assert alone["imported"] == []
    expected = classify(text, load_model(str(ft_run / "final"), head="classification", task="classify"))
    probs = {s["label"]: s["score"] for s in expected["scores"]}
    assert alone["model.onnx"]["label"] == expected["label"]
    assert abs(alone["model.onnx"]["probs"][1] - probs["positive"]) < 1e-4
    assert abs(alone["model.int8.onnx"]["probs"][1] - probs["positive"]) < 0.05

    # The page reads the report back for the picked run, as a table of the three forms.
    assert Service().compression_report(ft_run.name)["forms"] == report["forms"]
    assert list(report_frame(report)["form"]) == ["PyTorch (final/)", "ONNX", "ONNX int8 (dynamic quantization)"]


def test_only_finished_fine_tuning_runs_export_and_never_in_a_public_demo(runs_dir, ft_run, capsys):
    from bertlab.service import Service

    pretrained = finished_run(runs_dir, "pretrain-tiny", "masked-lm")
    config = json.loads((pretrained / "run_config.json").read_text())
    (pretrained / "run_config.json").write_text(json.dumps(dict(config, task="pretrain")))
    assert main(["export-onnx", pretrained.name]) == 2
    assert "only fine-tuned classifiers" in capsys.readouterr().err
    runs.write_status(ft_run, "running", "step 3", pid=None)
    assert main(["export-onnx", ft_run.name]) == 2
    with pytest.raises(BadInput, match="public demo"):
        Service(demo=True).export_onnx(ft_run.name)
    assert Service().compression_report(ft_run.name) is None
