"""Here, after a GPU session: rebuild run folders from what examples/gpu_session/run.sh sent back, so
that examples/export_default.py can ship them like any CPU run.

    python examples/gpu_session/unpack.py mlm FILES_DIR RUN_DIR
        # RUN_DIR = the masked-LM run (records' runs/zh-gpu + final/model.safetensors from zh_mlm.*)
    python examples/export_default.py --run RUN_DIR --name default-chinese --head masked-lm ...
    python examples/gpu_session/unpack.py sentiment FILES_DIR RUN_DIR
        # the 9,600-row ChnSentiCorp run. Its word-embedding matrix (frozen while fine-tuning, so it
        # did not travel) is taken from default-chinese as installed here, which must be this
        # session's masked-LM: export that first (checked against FILES_DIR's zh_mlm parts). The
        # classifier's overlay then stores no word-embedding matrix.
    python examples/export_default.py --run RUN_DIR --name default-sentiment-chinese --head classification ...
    python examples/gpu_session/unpack.py en FILES_DIR RUN_DIR
        # the English default's stage 4 (run_english.sh): the word-embedding matrix is the wheel's, taken
        # from `default` as installed here, with the [MASK] row that came back (en_mask_row.safetensors)
    python examples/export_default.py --run RUN_DIR --name default-mlm --head masked-lm ...

FILES_DIR holds records.tar.gz (or, for `mlm` from a call cut short, records-mlm.tar.gz; for `en`,
records-en.tar.gz) and the *.safetensors parts (the device tool's files_at folder).
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

RECORDS = {"mlm": ("runs/zh-gpu", "zh_mlm"), "sentiment": ("zhft/run-chnsenticorp-full", "zh_sent"),
           "en": ("runs/en-gpu", "en_mlm")}
ARCHIVES = {"mlm": ("records.tar.gz", "records-mlm.tar.gz"), "sentiment": ("records.tar.gz",),
            "en": ("records-en.tar.gz",)}
WORDS = "bert.embeddings.word_embeddings.weight"


def decode_parts(files: Path, prefix: str) -> dict:
    """fp32 state dict from pack.py's files (fp16 tensors, int8 rows with their scales)."""
    stored = {}
    for part in sorted(files.glob(f"{prefix}.*.safetensors")):
        stored.update(load_file(part))
    if not stored:
        raise SystemExit(f"no {prefix}.*.safetensors in {files}")
    integers = {k: v for k, v in stored.items() if not v.is_floating_point() and "#" not in k}
    state = decode_changes({k: v for k, v in stored.items() if k not in integers}, {})
    return {**{k: v.float().contiguous() for k, v in state.items()}, **integers}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("which", choices=sorted(RECORDS))
    parser.add_argument("files", type=Path)
    parser.add_argument("run", type=Path)
    args = parser.parse_args()
    record_dir, prefix = RECORDS[args.which]
    state = decode_parts(args.files, prefix)
    if args.which == "sentiment":
        from bertlab.modeling.registry import load_model

        installed = load_model("default-chinese", head="masked-lm").model.state_dict()[WORDS].detach().float()
        sent = decode_parts(args.files, "zh_mlm")[WORDS]
        if installed.shape != sent.shape or (installed - sent).abs().max() > 1e-5:
            raise SystemExit("default-chinese installed here is not this session's masked-LM: unpack `mlm` and "
                             "export it as default-chinese first (see this script's docstring)")
        state[WORDS] = installed.contiguous().clone()
    if args.which == "en":
        # The word-embedding matrix did not travel: the wheel's own rows (which stage 4 kept fixed and
        # the decoder shares), as the shipped `default` has them, with the [MASK] row the stage trained.
        from bertlab.modeling.registry import load_model

        words = load_model("default", head="masked-lm").model.state_dict()[WORDS].detach().float().clone()
        row = load_file(args.files / "en_mask_row.safetensors")
        words[int(row["mask_id"][0])] = row["mask_row"]
        state[WORDS] = words.contiguous()
    records = next((args.files / name for name in ARCHIVES[args.which] if (args.files / name).exists()),
                   args.files / ARCHIVES[args.which][0])
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(records) as archive:
            archive.extractall(tmp, filter="data")
        if args.run.exists():
            shutil.rmtree(args.run)
        shutil.copytree(Path(tmp) / record_dir, args.run)
    save_file(state, str(args.run / "final" / "model.safetensors"), metadata={"format": "pt"})
    print(f"{args.run}: {len(state)} tensors")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
