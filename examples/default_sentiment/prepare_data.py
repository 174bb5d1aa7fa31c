"""Write SST-2 (from ../shared/data/sst2) with readable label names for the shipped sentiment model.

    python examples/default_sentiment/prepare_data.py --out /root/bertlab-data/sst2
"""

import argparse
import csv
from pathlib import Path

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sst2"
NAMES = {"0": "negative", "1": "positive"}

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    if not DATA.exists():
        raise SystemExit(f"{DATA} not found: this script needs the shared data sets beside the project")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev"):
        rows = (DATA / f"{split}.tsv").read_text(encoding="utf-8").splitlines()[1:]
        with open(out / f"{split}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["sentence", "label"])
            for line in rows:
                text, label = line.rsplit("\t", 1)
                writer.writerow([text.strip(), NAMES[label.strip()]])
        print(split, len(rows))
