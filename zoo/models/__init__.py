"""The language models: the neural ones (each a config dataclass and the interface of ``LanguageModel``)
and the count-based n-gram ``NGramLM`` (fitted by counting, with the same scoring and sampling methods),
with its ARPA export (``write_arpa``) and ``BackoffLM``, any ARPA file read back (``read_arpa``)."""

from .arpa import read_arpa, write_arpa
from .backoff_lm import BackoffLM
from .base import LanguageModel
from .gpt import GPT, GPTConfig
from .mlp import MLPLM, MLPConfig
from .neural_ngram import NeuralNGramConfig, NeuralNGramLM
from .ngram import NGramLM
from .recurrent import GRULM, LSTMLM, RNNLM, RecurrentConfig, RecurrentLM, detach_state

__all__ = [
    "BackoffLM",
    "GPT",
    "GPTConfig",
    "GRULM",
    "LSTMLM",
    "LanguageModel",
    "MLPConfig",
    "MLPLM",
    "NeuralNGramConfig",
    "NeuralNGramLM",
    "NGramLM",
    "RNNLM",
    "RecurrentConfig",
    "RecurrentLM",
    "detach_state",
    "read_arpa",
    "write_arpa",
]
