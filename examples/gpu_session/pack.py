"""On the GPU machine: a finished run's final/model.safetensors compact for the trip back: word
embeddings in int8 (one fp32 scale per row), everything else in fp16 (the encoder's output matrices
have outliers up to ~8 that per-row int8 would blur; bertlab.modeling.overlay's encode_changes),
split into files of at most ~15 MB (the device tool returns files of at most 16 MiB).
    python examples/gpu_session/pack.py FINAL_DIR OUT_PREFIX [--skip SUBSTRING ...]"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from safetensors.torch import load_file, save_file  # noqa: E402

from bertlab.modeling.overlay import QUANTIZE_MIN_ELEMENTS, encode_changes  # noqa: E402

final, prefix = Path(sys.argv[1]), sys.argv[2]
skip = sys.argv[4:] if len(sys.argv) > 3 and sys.argv[3] == "--skip" else []
loaded = {k: v for k, v in load_file(final / "model.safetensors").items() if not any(s in k for s in skip)}
state = {k: v for k, v in loaded.items() if v.is_floating_point()}
large = frozenset(k for k, v in state.items()
                  if v.dim() == 2 and v.numel() >= QUANTIZE_MIN_ELEMENTS and "word_embeddings" in k)
stored = encode_changes(state, {}, large)
stored.update({k: v.contiguous() for k, v in loaded.items() if not v.is_floating_point()})  # ids travel as they are
parts, current, size = [], {}, 0
for key in sorted(stored):
    nbytes = stored[key].numel() * stored[key].element_size()
    if current and size + nbytes > 15_000_000:
        parts.append(current)
        current, size = {}, 0
    current[key] = stored[key]
    size += nbytes
parts.append(current)
for i, part in enumerate(parts):
    save_file(part, f"{prefix}.{i}.safetensors")
print(f"{final}: {len(stored)} tensors in {len(parts)} files")
