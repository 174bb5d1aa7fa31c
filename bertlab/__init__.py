"""bertlab: a browser lab for BERT — masked-token prediction, classification, Chinese
tokenization, fine-tuning and pre-training, on one training engine.

The public API is small and imports lazily (importing bertlab does not import torch):

    from bertlab import TrainConfig, train, resolve, load_model
"""

from .config import FinetuneConfig, PretrainConfig, TrainConfig
from .errors import BadInput, DataError, ModelNotFound

__all__ = ["TrainConfig", "FinetuneConfig", "PretrainConfig", "BadInput", "DataError",
           "ModelNotFound", "train", "resolve", "load_model", "list_models"]
__version__ = "0.1.0"


def __getattr__(name):
    if name == "train":
        from .training.engine import train

        return train
    if name in ("resolve", "load_model", "list_models"):
        from .modeling import registry

        return getattr(registry, name)
    raise AttributeError(name)
