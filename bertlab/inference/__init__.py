"""Inference on a loaded model: fill-mask (fill_mask.py), classification of texts and files
(classify.py), attention maps (attention.py), word attributions for "Why?" (explain.py)."""
