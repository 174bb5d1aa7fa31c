"""Row-sparse updates of the word-embedding matrix while fine-tuning.

Half of the default's 22.7 M parameters are its 30,522 x 384 word embeddings, yet a batch of 16
sentences looks up a few hundred of those rows. With the usual dense gradient every step writes a
47 MB matrix of zeros, adds the batch's rows into it, takes its norm for clipping, scales it, and
AdamW reads and writes it and both of its moments: several passes over memory for rows that got
no gradient at all. Here the embedding's backward returns only the rows used (`nn.Embedding(sparse=
True)`: a COO tensor of (row, 384-vector) pairs) and `torch.optim.SparseAdam` updates those rows and
their moments ("lazy Adam"); everything else keeps the engine's AdamW. Clipping counts the rows in
the same global norm, so the clip coefficient is what `clip_grad_norm_` would compute.

What differs from dense AdamW, and is checked by the accuracy race of
benchmarks/finetune_throughput.py: a row a batch does not use does not move (dense AdamW keeps
moving it by its momentum and shrinks it by weight decay), and the embedding rows get no weight
decay (SparseAdam has none; BERT's fine-tuning recipes are not sensitive to decay on embeddings).

Where it does not apply, `problem` says why and the engine keeps the dense update: a tied MLM
decoder (its gradient for the same matrix is dense), several processes (the all-reduce of DDP has
no sparse tensors), fp16 loss scaling (accelerate unscales one dense optimizer), frozen embeddings
or the mask-row mode (nothing to gain).
"""

from __future__ import annotations


def word_embedding_module(model):
    """The model's input word-embedding layer (an nn.Embedding), or None."""
    import torch

    get = getattr(model, "get_input_embeddings", None)
    try:
        module = get() if callable(get) else None
    except (NotImplementedError, AttributeError):
        module = None
    return module if isinstance(module, torch.nn.Embedding) else None


def problem(model, config, accelerator) -> str | None:
    """None when this run can update the word embeddings row by row, else the reason it cannot.
    `auto` also keeps the dense update off the CPU: the gain was measured on a CPU, where the dense
    matrix's passes over memory cost most; on a GPU they are cheap (use `sparse` to try it there)."""
    if config.task != "finetune":
        return "pre-training: the MLM decoder shares the matrix, so its gradient is dense anyway"
    if config.word_embeddings != "train":
        return f"word_embeddings={config.word_embeddings}"
    if accelerator.num_processes > 1:
        return f"{accelerator.num_processes} processes (DDP's all-reduce has no sparse gradients)"
    distributed = str(getattr(accelerator, "distributed_type", "NO")).rsplit(".", 1)[-1]
    if distributed != "NO":  # DeepSpeed or FSDP on one process still wrap the optimizer their way
        return f"distributed type {distributed}"
    dynamo = getattr(getattr(accelerator, "state", None), "dynamo_plugin", None)
    if dynamo is not None and str(getattr(dynamo, "backend", "NO")).rsplit(".", 1)[-1] not in ("NO", "None"):
        return "torch.compile (sparse gradients do not compile)"
    if accelerator.mixed_precision == "fp16":
        return "fp16 loss scaling"
    if config.embedding_updates == "auto" and accelerator.device.type != "cpu":
        return f"auto keeps the dense update on {accelerator.device.type} (measured faster on the CPU only)"
    module = word_embedding_module(model)
    if module is None:
        return "no nn.Embedding word-embedding layer"
    if not module.weight.requires_grad:
        return "the word embeddings are frozen"
    output = getattr(model, "get_output_embeddings", lambda: None)()
    if output is not None and getattr(output, "weight", None) is module.weight:
        return "an output layer shares the word-embedding matrix"
    return None


def coalesce_gradient(weight) -> None:
    """One entry per distinct row (the backward emits one per token), summed: what the norm and
    SparseAdam need. A no-op without a gradient."""
    if weight.grad is not None and weight.grad.is_sparse:
        weight.grad = weight.grad.coalesce()


def clip_(dense_params, rows_weight, max_norm: float, fused_optimizer=None):
    """clip_grad_norm_ over the dense parameters and the sparse rows together: one global L2 norm,
    every gradient scaled by min(1, max_norm / norm). Returns the norm before clipping.

    With `fused_optimizer` (a torch optimizer over `dense_params` whose fused kernel reads
    `grad_scale`, as AdamW(fused=True) does for GradScaler), the dense gradients are not multiplied
    here: the kernel divides them by grad_scale = 1 / coefficient as it reads them, which saves one
    pass over ~11 M gradients (on the CPU foreach is unsupported, so clipping is a mul_ per tensor:
    ~6 ms of a ~150 ms fine-tuning step). The attribute is set again at every call."""
    import torch

    dense_params = [p for p in dense_params if p.grad is not None]
    rows = rows_weight.grad._values() if rows_weight.grad is not None else None  # (distinct rows, H)
    total = torch.nn.utils.get_total_norm([p.grad for p in dense_params] + ([rows] if rows is not None else []))
    coefficient = (max_norm / (total + 1e-6)).clamp(max=1.0)  # clip_grads_with_norm_'s
    if fused_optimizer is not None and fused_reads_grad_scale(fused_optimizer):
        fused_optimizer.grad_scale = (1.0 / coefficient).reshape(1).to(torch.float32)
    else:
        torch.nn.utils.clip_grads_with_norm_(dense_params, max_norm, total)
    if rows is not None:
        rows.mul_(coefficient.to(rows.device))
    return total


def fused_reads_grad_scale(optimizer) -> bool:
    """Whether `optimizer.step` hands `optimizer.grad_scale` to a fused kernel that divides every
    gradient by it: torch's Adam/AdamW with fused=True, every group fused."""
    import torch

    return isinstance(optimizer, torch.optim.Adam) and all(g.get("fused") for g in optimizer.param_groups)
