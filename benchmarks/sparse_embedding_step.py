"""One fine-tuning step, two ways, alternating in one process: what a sparse word-embedding update would save.

    python benchmarks/sparse_embedding_step.py [--steps 40]

  dense   what the engine does today: the dense 30,522 x 384 word-embedding gradient, clip_grad_norm_
          (a norm and a multiply per tensor), fused AdamW over all 22.7 M parameters
  sparse  the word-embedding gradient sparse (only the rows of this batch's tokens), SparseAdam for that
          matrix (lazy Adam: untouched rows and their moments stay as they are; no weight decay on it),
          fused AdamW for the rest, and clipping folded into fused AdamW's `grad_scale` (the kernel divides
          the gradients by it: no separate multiply pass); the embedding rows are scaled by hand
          (bertlab.training.embedding_rows, as the engine does with embedding_updates=sparse)

Same model (the `default` encoder + a new 2-label head, the engine's [CLS]-only last layer), same random
batches of 16 rows at SST-2-like lengths 8-30, fp32 on the CPU's torch threads. The prototype measurement
of the row-sparse update, in a bare loop (no accelerate, no scheduler): the engine adopted it after the
3-seed accuracy race of benchmarks/finetune_throughput.py (`--dense-engine` measures it there). Prints the
median step of each and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # no shadowing of stdlib names
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=40, help="steps of each kind (the first 4 are not timed)")
    args = parser.parse_args()

    import torch
    from transformers import BertForSequenceClassification

    from bertlab.modeling import first_token
    from bertlab.modeling.registry import load_model
    from bertlab.training import embedding_rows

    torch.manual_seed(0)
    encoder = load_model("default", head="masked-lm").model
    config = encoder.config
    config.num_labels = 2

    def classifier():
        model = BertForSequenceClassification(config)
        model.bert.load_state_dict(encoder.bert.state_dict(), strict=False)  # the pooler and head stay new
        return model.train()

    dense, sparse = classifier(), classifier()
    dense_opt = torch.optim.AdamW(dense.parameters(), lr=5e-5, fused=True)
    embedding = sparse.bert.embeddings.word_embeddings
    embedding.sparse = True  # F.embedding's backward then returns a sparse (rows, values) gradient
    rest = [p for p in sparse.parameters() if p is not embedding.weight]
    rest_opt = torch.optim.AdamW(rest, lr=5e-5, fused=True)
    rows_opt = torch.optim.SparseAdam([embedding.weight], lr=5e-5)
    draw = torch.Generator().manual_seed(1)

    def batch():
        length = int(torch.randint(8, 30, (1,), generator=draw))
        return (torch.randint(1000, 30000, (16, length), generator=draw), torch.randint(0, 2, (16,), generator=draw))

    def dense_step(ids, labels):
        loss, _ = first_token.loss_and_logits(dense, ids, labels, torch.ones_like(ids))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(dense.parameters(), 1.0)
        dense_opt.step()
        dense_opt.zero_grad(set_to_none=True)

    def sparse_step(ids, labels):
        loss, _ = first_token.loss_and_logits(sparse, ids, labels, torch.ones_like(ids))
        loss.backward()
        # the engine's own pieces: one row per distinct token, then clipping over the global norm with
        # the dense part folded into fused AdamW's grad_scale
        embedding_rows.coalesce_gradient(embedding.weight)
        embedding_rows.clip_(rest, embedding.weight, 1.0, fused_optimizer=rest_opt)
        rest_opt.step()
        rows_opt.step()
        rest_opt.zero_grad(set_to_none=True)
        rows_opt.zero_grad(set_to_none=True)

    times = {"dense": [], "sparse": []}
    for i in range(args.steps):
        ids, labels = batch()
        order = [("dense", dense_step), ("sparse", sparse_step)]
        for name, step in (order if i % 2 else order[::-1]):
            start = time.perf_counter()
            step(ids, labels)
            if i >= 4:
                times[name].append(time.perf_counter() - start)
    dense_ms, sparse_ms = (statistics.median(times[k]) * 1e3 for k in ("dense", "sparse"))
    print(f"median step: dense {dense_ms:.1f} ms, sparse {sparse_ms:.1f} ms; sparse/dense speed {dense_ms / sparse_ms:.3f}x "
          f"(torch threads {torch.get_num_threads()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
