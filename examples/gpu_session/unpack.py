"""Here, after a GPU session: rebuild run folders from what examples/gpu_session/run.sh sent back, so
that examples/export_default.py can ship them like any CPU run.

    python examples/gpu_session/unpack.py mlm FILES_DIR RUN_DIR
        # RUN_DIR = the masked-LM run (records' runs/zh-gpu + final/model.safetensors from zh_mlm.*)
    python examples/export_default.py --run RUN_DIR --name default-chinese --head masked-lm ...
    python examples/gpu_session/unpack.py sentiment FILES_DIR RUN_DIR
        # the 9,600-row ChnSentiCorp run; its word embeddings (frozen while fine-tuning) are taken from
        # default-chinese as shipped now, so export default-chinese first: the classifier's overlay
        # then stores no embedding matrix
    python examples/export_default.py --run RUN_DIR --name default-sentiment-chinese --head classification ...

FILES_DIR holds records.tar.gz and the *.safetensors parts (the device tool's files_at folder).
"""

import argparse
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from safetensors.torch import load_file, save_file  # noqa: E402

from bertlab.modeling.overlay import decode_changes  # noqa: E402

RECORDS = {"mlm": ("runs/zh-gpu", "zh_mlm"), "sentiment": ("zhft/run-chnsenticorp-full", "zh_sent")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("which", choices=sorted(RECORDS))
    parser.add_argument("files", type=Path)
    parser.add_argument("run", type=Path)
    args = parser.parse_args()
    record_dir, prefix = RECORDS[args.which]
    parts = sorted(args.files.glob(f"{prefix}.*.safetensors"))
    if not parts:
        parser.error(f"no {prefix}.*.safetensors in {args.files}")
    stored = {}
    for part in parts:
        stored.update(load_file(part))
    # fp16 tensors and int8 rows with their scales -> fp32 (decode_changes against no base)
    state = {k: v.float().contiguous() for k, v in decode_changes(stored, {}).items()}
    if args.which == "sentiment":
        from bertlab.modeling.registry import load_model

        shipped = load_model("default-chinese", head="masked-lm").model.state_dict()
        name = "bert.embeddings.word_embeddings.weight"
        state[name] = shipped[name].detach().float().contiguous().clone()
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(args.files / "records.tar.gz") as archive:
            archive.extractall(tmp, filter="data")
        if args.run.exists():
            shutil.rmtree(args.run)
        shutil.copytree(Path(tmp) / record_dir, args.run)
    save_file(state, str(args.run / "final" / "model.safetensors"), metadata={"format": "pt"})
    print(f"{args.run}: {len(state)} tensors from {len(parts)} files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
