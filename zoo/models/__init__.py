"""The neural language models; each has a config dataclass and the interface of ``LanguageModel``."""

from .base import LanguageModel
from .gpt import GPT, GPTConfig
from .mlp import MLPLM, MLPConfig
from .recurrent import GRULM, LSTMLM, RNNLM, RecurrentConfig, RecurrentLM, detach_state
from .table import NeuralNGramConfig, NeuralNGramLM

__all__ = [
    "GPT",
    "GPTConfig",
    "GRULM",
    "LSTMLM",
    "LanguageModel",
    "MLPConfig",
    "MLPLM",
    "NeuralNGramConfig",
    "NeuralNGramLM",
    "RNNLM",
    "RecurrentConfig",
    "RecurrentLM",
    "detach_state",
]
