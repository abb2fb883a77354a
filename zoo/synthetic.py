"""Synthetic symbol sources whose entropy rate is known exactly.

A language model's validation loss (nats per symbol) can never go below the source's entropy rate
``H = lim_t H(X_t | X_<t)``; with these sources the gap between a model and that floor is measured,
not guessed. Symbols are integers ``0..V-1``; ``symbols_to_text`` turns them into one printable
character each, so a ``CharTokenizer`` sees exactly the source's symbols.
"""

from __future__ import annotations

import bisect
import math
import string

import numpy as np

from tinygrad_lm import Generator

MAX_STATES = 4096
"""Largest number of Markov states ``S = V**order`` (a slowly mixing chain falls back to a dense
``S x S`` solve)."""
MAX_TRANSITIONS = 1 << 20
"""Largest transition table ``S * V`` (sampling walks a Python list of it)."""

ALPHABET = string.ascii_lowercase + "".join(chr(c) for c in range(0x100, 0x250))
"""Symbol ``i`` is written as ``ALPHABET[i]``: ``a..z``, then Latin Extended letters (increasing
code points, so a sorted character vocabulary gives token id == symbol)."""


def symbols_to_text(symbols: np.ndarray) -> str:
    """One character per symbol: ``ALPHABET[i]``."""
    if len(symbols) and int(np.max(symbols)) >= len(ALPHABET):
        raise ValueError(f"symbol {int(np.max(symbols))} has no character (at most {len(ALPHABET)} symbols)")
    code_points = np.array([ord(c) for c in ALPHABET], dtype="<u4")[np.asarray(symbols, dtype=np.int64)]
    return code_points.tobytes().decode("utf-32-le")


class MarkovSource:
    """A random ``order``-th order Markov chain over ``vocab`` symbols.

    State ``s`` is the last ``k = order`` symbols read as a base-V number, ``S = V**k`` states. Each
    row ``P[s] = P(. | s)`` is drawn from ``Dirichlet(concentration * 1_V)`` with a generator seeded by
    ``seed`` (small ``concentration`` -> peaked, predictable rows; large -> near uniform). The state
    moves ``s -> (s * V + x) mod S``. ``pi`` is the stationary distribution over states
    (``pi = pi T`` with ``T[s, s'] = P(x | s)`` for ``s' = (s V + x) mod S``) and the entropy rate is

        H = - sum_s pi(s) sum_x P(x | s) log P(x | s)      (nats per symbol)
    """

    def __init__(self, order: int, vocab: int, seed: int = 0, concentration: float = 0.5) -> None:
        if order < 0 or vocab < 2 or concentration <= 0:
            raise ValueError(
                f"need order >= 0, vocab >= 2, concentration > 0; got {order}, {vocab}, {concentration}"
            )
        if vocab**order > MAX_STATES or vocab ** (order + 1) > MAX_TRANSITIONS:
            raise ValueError(
                f"Markov source too large: {vocab}**{order} = {vocab**order} states (at most {MAX_STATES}) "
                f"and {vocab ** (order + 1)} transition probabilities (at most {MAX_TRANSITIONS})"
            )
        self.order, self.vocab, self.seed, self.concentration = order, vocab, seed, concentration
        self.n_states = vocab**order
        rng = np.random.Generator(np.random.PCG64([seed, 0x6D61726B]))  # "mark": apart from sample seeds
        self.transition = rng.dirichlet(np.full(vocab, concentration), size=self.n_states)  # (S, V)
        self.transition /= self.transition.sum(axis=1, keepdims=True)
        self.next_state = (np.arange(self.n_states)[:, None] * vocab + np.arange(vocab)) % self.n_states
        self.stationary = self._solve_stationary()  # (S,)
        self.entropy_rate = self._entropy_rate()

    def _solve_stationary(self, tol: float = 1e-15, max_iter: int = 20_000) -> np.ndarray:
        """``pi = pi T`` with ``sum(pi) = 1``: power iteration, or a dense solve if it mixes slowly."""
        S, flow_to = self.n_states, self.next_state.ravel()
        pi = np.full(S, 1.0 / S)
        for _ in range(max_iter):
            new = np.bincount(flow_to, weights=(pi[:, None] * self.transition).ravel(), minlength=S)
            if np.max(np.abs(new - pi)) < tol:
                return new / new.sum()
            pi = new
        return self._solve_stationary_dense()

    def _solve_stationary_dense(self) -> np.ndarray:
        """Solve ``pi (T - I) = 0`` with the last equation replaced by ``sum(pi) = 1``."""
        S = self.n_states
        T = np.zeros((S, S))
        T[np.repeat(np.arange(S), self.vocab), self.next_state.ravel()] = self.transition.ravel()
        system = T.T - np.eye(S)
        system[-1] = 1.0
        rhs = np.zeros(S)
        rhs[-1] = 1.0
        pi = np.clip(np.linalg.solve(system, rhs), 0.0, None)
        return pi / pi.sum()

    def _entropy_rate(self) -> float:
        P = self.transition
        with np.errstate(divide="ignore", invalid="ignore"):
            plogp = np.where(P > 0, P * np.log(P), 0.0)
        return float(-(self.stationary @ plogp.sum(axis=1)))

    def state_of(self, history: np.ndarray) -> int:
        """The state index of the last ``order`` symbols of ``history``."""
        state = 0
        for x in history[len(history) - self.order :]:
            state = state * self.vocab + int(x)
        return state

    def states(self, symbols: np.ndarray) -> np.ndarray:
        """``states[t]`` = state before symbol ``t + order`` (shape ``(n - order,)``)."""
        n = len(symbols) - self.order
        s = np.zeros(max(n, 0), dtype=np.int64)
        for j in range(self.order):
            s = s * self.vocab + symbols[j : j + n]
        return s

    def log_probs(self, symbols: np.ndarray) -> np.ndarray:
        """``log P(x_t | x_{t-k..t-1})`` for ``t = order .. n-1`` under the true chain."""
        return np.log(self.transition[self.states(symbols), symbols[self.order :]])

    def sample(self, n: int, generator: Generator) -> np.ndarray:
        """``n`` symbols of a stationary run: the first ``order`` are a state drawn from ``pi``."""
        start = generator.choice(self.stationary)
        head = [(start // self.vocab ** (self.order - 1 - j)) % self.vocab for j in range(self.order)]
        out = np.empty(n, dtype=np.int64)
        out[: min(n, self.order)] = head[:n]
        uniforms = generator.uniform((max(n - self.order, 0),), np.float64, "cpu").tolist()
        cdf = np.cumsum(self.transition, axis=1)
        cdf[:, -1] = 2.0  # every u in [0, 1) lands in some symbol despite rounding
        cdf, next_state = cdf.tolist(), self.next_state.tolist()
        state, draws = start, []
        for u in uniforms:
            x = bisect.bisect_right(cdf[state], u)
            draws.append(x)
            state = next_state[state][x]
        out[self.order :] = draws
        return out

    def describe(self) -> str:
        return (
            f"order-{self.order} Markov chain over {self.vocab} symbols (Dirichlet alpha="
            f"{self.concentration}, seed={self.seed}), entropy rate {self.entropy_rate:.6f} nats/symbol"
        )


class LongRangeSource:
    """Copy the symbol ``distance`` steps back with probability ``p_copy``, else draw uniformly.

    ``x_t = x_{t-D}`` with probability ``p``, otherwise ``x_t ~ Uniform(V)`` (which may also equal
    ``x_{t-D}``); the first ``D`` symbols are uniform. Given the whole past, the next symbol's law is
    ``P(x | past) = p 1[x = x_{t-D}] + (1 - p) / V``, so the entropy rate is

        H = -[ (p + (1-p)/V) log(p + (1-p)/V) + (V-1) ((1-p)/V) log((1-p)/V) ]   (nats per symbol)

    An n-gram model with ``n <= D`` cannot see ``x_{t-D}`` and is stuck at ``log V``; attention can.
    The process has no random parameters: a seed only enters through the sampling generator.
    """

    def __init__(self, vocab: int, distance: int, p_copy: float) -> None:
        if vocab < 2 or distance < 1 or not 0.0 <= p_copy < 1.0:
            raise ValueError(
                f"need vocab >= 2, distance >= 1, 0 <= p_copy < 1; got {vocab}, {distance}, {p_copy}"
            )
        self.vocab, self.distance, self.p_copy = vocab, distance, p_copy
        self.entropy_rate = self._entropy_rate()

    def _entropy_rate(self) -> float:
        V, p = self.vocab, self.p_copy
        hit, miss = p + (1 - p) / V, (1 - p) / V
        return -(hit * math.log(hit) + (V - 1) * miss * math.log(miss))

    def log_probs(self, symbols: np.ndarray) -> np.ndarray:
        """``log P(x_t | past)`` for ``t = D .. n-1``."""
        D, V, p = self.distance, self.vocab, self.p_copy
        copied = symbols[D:] == symbols[:-D]
        return np.log(np.where(copied, p + (1 - p) / V, (1 - p) / V))

    def sample(self, n: int, generator: Generator) -> np.ndarray:
        """``n`` symbols, vectorised: in each residue class ``t mod D`` the sequence is a run-length
        chain, so ``x_t`` equals the fresh draw at the last non-copy position ``<= t`` in its class."""
        D = self.distance
        copy = generator.uniform((n,), np.float64, "cpu") < self.p_copy
        copy[:D] = False
        fresh = generator.integers(0, self.vocab, (n,), np.int64, "cpu")
        rows = -(-n // D)
        anchor = np.full(rows * D, -1, dtype=np.int64)
        anchor[:n] = np.where(copy, -1, np.arange(n))
        anchor = np.maximum.accumulate(anchor.reshape(rows, D), axis=0).ravel()[:n]
        return fresh[anchor]

    def describe(self) -> str:
        return (
            f"long-range copy source over {self.vocab} symbols (copy from {self.distance} back with "
            f"p={self.p_copy}), entropy rate {self.entropy_rate:.6f} nats/symbol"
        )
