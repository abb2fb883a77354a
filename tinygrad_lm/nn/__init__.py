"""Neural-network modules in the style of ``torch.nn``: ``Module``, layers, recurrent layers, attention."""

from . import init
from .attention import CausalSelfAttention, KVCache
from .layers import GELU, Dropout, Embedding, LayerNorm, Linear, ReLU, Sigmoid, Tanh
from .module import Module, ModuleDict, ModuleList, Parameter, Sequential, functional_call
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

__all__ = [
    "GELU",
    "GRU",
    "LSTM",
    "RNN",
    "CausalSelfAttention",
    "Dropout",
    "Embedding",
    "GRUCell",
    "KVCache",
    "LSTMCell",
    "LayerNorm",
    "Linear",
    "Module",
    "ModuleDict",
    "ModuleList",
    "Parameter",
    "RNNCell",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "functional_call",
    "init",
]
