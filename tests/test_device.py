"""Where answers are computed (bertlab.modeling.registry.inference_device, $BERTLAB_DEVICE): the CPU by
default on a machine without a GPU, without importing torch for the check; a device that cannot be
used is refused with a message naming the variable, by the CLI as by the library; ONNX Runtime's CPU
fast path steps aside when answers run on a GPU. CI has no GPU: the GPU itself is exercised by
examples/gpu_session/ on a lent machine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bertlab.cli import main
from bertlab.errors import BadInput
from bertlab.inference import fast_inference
from bertlab.inference.classify import classify, predict_probs
from bertlab.modeling import registry

ROOT = Path(__file__).resolve().parents[1]
HAS_GPU_NODE = registry._may_have_cuda()  # the check "auto" makes before it would import torch


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.mark.skipif(HAS_GPU_NODE, reason="this machine may have CUDA: auto asks torch")
def test_default_is_the_cpu_without_importing_torch(monkeypatch):
    code = ("import sys; from bertlab.modeling.registry import inference_device; "
            "print(inference_device(), 'torch' in sys.modules)")
    env = {k: v for k, v in __import__("os").environ.items() if k != registry.DEVICE_ENV}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    assert out == ["cpu", "False"]


@pytest.mark.parametrize("value", ["cpu", "CPU ", "auto", ""])
def test_cpu_choices(monkeypatch, value):
    monkeypatch.setenv(registry.DEVICE_ENV, value)
    if value.strip().lower() in ("auto", "") and HAS_GPU_NODE and _cuda_available():
        pytest.skip("auto picks this machine's GPU")
    assert registry.inference_device() == "cpu"


@pytest.mark.parametrize("value", ["gpu0", "meta", "xpu"])
def test_bad_device_names_the_variable(monkeypatch, value):
    monkeypatch.setenv(registry.DEVICE_ENV, value)
    with pytest.raises(BadInput, match=rf"BERTLAB_DEVICE='{value}' is not a device bertlab answers on"):
        registry.inference_device()


def test_cpu_with_an_index_is_the_cpu(monkeypatch):
    monkeypatch.setenv(registry.DEVICE_ENV, "cpu:0")
    assert registry.inference_device() == "cpu"
    monkeypatch.setenv(fast_inference.ENV, "1")
    assert fast_inference.enabled() is True


def test_missing_gpu_is_refused_by_library_and_cli(monkeypatch, capsys):
    if _cuda_available():
        pytest.skip("this machine has a CUDA GPU")
    monkeypatch.setenv(registry.DEVICE_ENV, "cuda")
    with pytest.raises(BadInput, match=r"BERTLAB_DEVICE=cuda: this torch .* sees no cuda device; unset"):
        registry.inference_device()
    # The CLI: a clear one-line error and a non-zero exit, not a traceback or a silent CPU answer.
    code = main(["fill-mask", "The capital of France is [MASK].", "--json"])
    err = capsys.readouterr().err
    assert code != 0 and "BERTLAB_DEVICE=cuda" in err and "Traceback" not in err
    # ... and the fast path does not answer in its place.
    assert fast_inference.enabled() is False


def test_fast_path_steps_aside_on_a_gpu(monkeypatch):
    monkeypatch.setenv(fast_inference.ENV, "1")
    monkeypatch.setattr(registry, "inference_device", lambda: "cuda")
    assert fast_inference.enabled() is False
    monkeypatch.setattr(registry, "inference_device", lambda: "cpu")
    assert fast_inference.enabled() is True


def test_a_model_off_the_cpu_gets_no_export(monkeypatch, make_tiny_model):
    """A library caller's model on another device is answered by PyTorch there, whatever the environment:
    no export starts for it (its parity check would feed CPU tensors to it)."""
    from types import SimpleNamespace

    import torch

    monkeypatch.setenv(fast_inference.ENV, "1")
    loaded = registry.load_model(str(make_tiny_model("masked-lm")), head="masked-lm")
    elsewhere = SimpleNamespace(model=SimpleNamespace(device=torch.device("meta")), tokenizer=loaded.tokenizer,
                                source=loaded.source)
    assert fast_inference.prepare(elsewhere, "masked-lm") is None
    assert fast_inference.ready(elsewhere.model) is None


def test_explicit_cpu_answers_as_the_default(monkeypatch, make_tiny_model):
    folder = make_tiny_model("classification")
    texts = ["a good fun movie", "bad awful boring plot"]
    default = predict_probs(texts, None, registry.load_model(str(folder), head="classification", task="classify"),
                            runner=None)
    monkeypatch.setenv(registry.DEVICE_ENV, "cpu")
    loaded = registry.load_model(str(folder), head="classification", task="classify",
                                 device=registry.inference_device())
    assert loaded.model.device.type == "cpu"
    assert (predict_probs(texts, None, loaded, runner=None) == default).all()
    assert json.loads(json.dumps(classify(texts[0], loaded)))["label"]


@pytest.mark.skipif(not _cuda_available(), reason="needs a CUDA GPU (run on a lent GPU machine)")
def test_gpu_answers_match_the_cpu(monkeypatch, make_tiny_model):
    """Fill-mask, classification, attention maps and explanations give the CPU's answers on the GPU
    (explanations where captum is installed: a GPU session's machine may lack it)."""
    import importlib.util

    from bertlab.inference.attention import attention_maps
    from bertlab.inference.fill_mask import fill_mask

    with_captum = importlib.util.find_spec("captum") is not None

    mlm, clf = make_tiny_model("masked-lm"), make_tiny_model("classification")
    answers = {}
    for device in ("cpu", "cuda"):
        monkeypatch.setenv(registry.DEVICE_ENV, device)
        lm = registry.load_model(str(mlm), head="masked-lm", device=registry.inference_device())
        cl = registry.load_model(str(clf), head="classification", task="classify", device=registry.inference_device())
        assert lm.model.device.type == cl.model.device.type == device
        filled = fill_mask("the movie was [MASK] .", lm, top_k=3)
        answers[device] = {
            "fill": [(c["token_id"], c["score"]) for m in filled["masks"] for c in m["candidates"]],
            "probs": predict_probs(["a good fun movie", "bad awful plot"], None, cl, runner=None),
            "attention": attention_maps("a good movie", cl)["attentions"],
        }
        if with_captum:
            from bertlab.inference.explain import explain

            answers[device]["explain"] = [w["score"] for w in explain("a good fun movie", cl)["words"]]
    cpu, gpu = answers["cpu"], answers["cuda"]
    assert [t for t, _ in cpu["fill"]] == [t for t, _ in gpu["fill"]]
    assert max(abs(a - b) for (_, a), (_, b) in zip(cpu["fill"], gpu["fill"])) < 1e-4
    assert abs(cpu["probs"] - gpu["probs"]).max() < 1e-4
    import numpy as np

    assert np.abs(np.array(cpu["attention"]) - np.array(gpu["attention"])).max() < 1e-3
    if with_captum:
        assert np.allclose(cpu["explain"], gpu["explain"], atol=1e-3)
