"""tinygrad_lm.distributed on 2 MPI ranks: the collectives, DistributedDataParallel's averaging and
broadcast, and data-parallel training equal to one process with the whole batch.

Each test starts ``mpiexec -n 2`` itself (tests/mpi_launch.py) and skips without mpi4py/mpiexec; the
assertions run on every rank, and any failing rank fails the job.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from mpi_launch import ROOT, run_script

import tinygrad_lm as tg
from tinygrad_lm import distributed as dist

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def test_the_library_imports_without_mpi_and_says_what_to_call():
    check = "import sys, tinygrad_lm.distributed, zoo.parallel; assert 'mpi4py' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, env=ENV)
    assert done.returncode == 0, done.stderr  # mpi4py is imported by init_process_group only
    assert not dist.is_initialized()
    with pytest.raises(RuntimeError, match=r"distributed.get_rank: no process group; call .*init_process"):
        dist.get_rank()
    with pytest.raises(RuntimeError, match="distributed.all_reduce: no process group"):
        dist.all_reduce(tg.ones(3))
    with pytest.raises(ValueError, match="backend must be one of"):
        dist.init_process_group("gloo")


def test_launched_world_size_reads_the_launchers_environment(monkeypatch):
    for name in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert dist.launched_world_size() == 1
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "4")
    assert dist.launched_world_size() == 4


COLLECTIVES = """
import numpy as np
import tinygrad_lm as tg
from tinygrad_lm import distributed as dist

if not tg.cuda.is_available():  # NCCL needs CuPy and a GPU: a clear error, and no group is left
    try:
        dist.init_process_group("nccl")
    except ImportError as error:
        assert "needs CuPy built with NCCL" in str(error), error
    assert not dist.is_initialized()
dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
assert world == 2 and dist.get_backend() == "mpi"
try:
    dist.init_process_group("mpi")
except RuntimeError as error:
    assert "already initialised (backend 'mpi')" in str(error), error
else:
    raise AssertionError("a second init_process_group did not fail")

x = tg.tensor([[1.0, -2.0], [3.0, 4.0]]) * (rank + 1)
dist.all_reduce(x)
assert x.numpy().tolist() == [[3.0, -6.0], [9.0, 12.0]], x
y = tg.tensor([float(rank), 10.0 * rank])
dist.all_reduce(y, op="mean")
assert y.numpy().tolist() == [0.5, 5.0], y
m = tg.tensor([rank, -rank], dtype=tg.int64)
dist.all_reduce(m, op="max")
assert m.numpy().tolist() == [1, 0], m

b = tg.full((3,), float(rank + 7))
dist.broadcast(b, src=1)
assert b.numpy().tolist() == [8.0, 8.0, 8.0], b

out = [tg.zeros(2) for _ in range(world)]
dist.all_gather(out, tg.tensor([rank, rank + 0.5]))
assert [o.numpy().tolist() for o in out] == [[0.0, 0.5], [1.0, 1.5]]
assert dist.all_gather_object({"rank": rank}) == [{"rank": 0}, {"rank": 1}]

for bad, match in [(lambda: dist.all_reduce(x, op="prod"), "op must be one of"),
                   (lambda: dist.all_reduce(m, op="mean"), "needs a floating tensor"),
                   (lambda: dist.broadcast(b, src=2), "src must be a rank in 0..1"),
                   (lambda: dist.all_reduce(tg.zeros((2, 3)).T), "not contiguous"),
                   (lambda: dist.all_reduce(np.zeros(2)), "expected a Tensor")]:
    try:
        bad()
    except (ValueError, TypeError) as error:
        assert match in str(error), error
    else:
        raise AssertionError(match)
dist.barrier()
dist.destroy_process_group()
assert not dist.is_initialized()
print("ok", rank)
"""


def test_collectives_on_two_ranks(tmp_path):
    assert run_script(tmp_path, COLLECTIVES).count("ok") == 2


DDP_AVERAGE_AND_BROADCAST = """
import numpy as np
import tinygrad_lm as tg
from tinygrad_lm import distributed as dist, nn

dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()

# different initialisations on each rank become rank 0's when wrapped (parameters and buffers)
tg.manual_seed(rank)
model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
model.register_buffer("counts", tg.full((2,), float(rank + 5)))
before = [p.numpy().copy() for p in model.parameters()]
gathered = dist.all_gather_object(before)
assert not np.array_equal(gathered[0][0], gathered[1][0])  # the seeds did differ
ddp = dist.DistributedDataParallel(model, bucket_mb=1e-5)  # tiny buckets: one per parameter
for p, rank0 in zip(model.parameters(), gathered[0]):
    np.testing.assert_array_equal(p.numpy(), rank0)
assert model.counts.numpy().tolist() == [5.0, 5.0]
assert list(ddp.state_dict()) == list(model.state_dict())  # no "module." prefix

# each rank's gradient is its rank: the average over N ranks is (N - 1) / 2, in every parameter
x = tg.ones((5, 3))
out = ddp(x)
loss = sum((p * float(rank)).sum() for p in model.parameters()) + out.sum() * 0.0
loss.backward()
for p in model.parameters():
    assert np.all(p.grad.numpy() == (world - 1) / 2), p.grad

# no_sync: local accumulation only; the next synchronised backward averages the sums
model.zero_grad()
with ddp.no_sync():
    (ddp(x).sum() * 0.0 + sum((p * float(rank)).sum() for p in model.parameters())).backward()
assert all(np.all(p.grad.numpy() == rank) for p in model.parameters())
(ddp(x).sum() * 0.0 + sum((p * float(rank)).sum() for p in model.parameters())).backward()
assert all(np.all(p.grad.numpy() == (world - 1)) for p in model.parameters())  # mean of 2r over r

# a parameter without gradient leaves its bucket unaveraged: the next forward says which
model.zero_grad()
ddp(x)
model[0](x).sum().backward()  # the last layer takes no part: its bucket (the first) never fills
try:
    ddp(x)
except RuntimeError as error:
    assert "the last backward gave no gradient to 2.bias, so" in str(error), error
else:
    raise AssertionError("no error for a parameter without gradient")
print("ok", rank)
"""


def test_ddp_broadcasts_rank0_averages_and_accumulates_in_no_sync(tmp_path):
    assert run_script(tmp_path, DDP_AVERAGE_AND_BROADCAST).count("ok") == 2


EQUALS_LARGE_BATCH = """
import numpy as np
import tinygrad_lm as tg
from tinygrad_lm import distributed as dist, optim
from zoo.models import GPT, GPTConfig, MLPConfig, MLPLM

dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
B, T, V, STEPS, CLIP = 8, 16, 11, 10, 0.05
rng = np.random.default_rng(1)
batches = [rng.integers(0, V, (B, T + 1)) for _ in range(STEPS)]


def build(kind):
    tg.manual_seed(0)
    if kind == "gpt":
        model = GPT(GPTConfig(vocab_size=V, context_length=T, n_layers=2, n_heads=2, d_model=16))
    else:
        model = MLPLM(MLPConfig(vocab_size=V, context_length=T, n_context=3, d_embed=4, d_hidden=16))
    return model.double()


def train(model, forward, rows):
    opt = optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    norms = []
    for batch in batches:
        part = batch[rows]
        _, loss = forward(tg.as_tensor(part[:, :-1]), tg.as_tensor(part[:, 1:]))
        opt.zero_grad()
        loss.backward()
        norms.append(float(optim.clip_grad_norm_(model.parameters(), CLIP)))
        opt.step()
    return norms


for kind in ("mlp", "gpt"):
    alone = build(kind)
    norms_alone = train(alone, alone, slice(None))  # one process, the whole batch of B rows
    model = build(kind)
    ddp = dist.DistributedDataParallel(model, bucket_mb=0.001)
    mine = slice(rank * B // world, (rank + 1) * B // world)
    norms = train(model, ddp, mine)  # B / N rows on each rank
    assert min(norms_alone) > CLIP, norms_alone  # clipping did act at every step
    np.testing.assert_allclose(norms, norms_alone, rtol=1e-10)
    for (name, p), q in zip(model.named_parameters(), alone.parameters()):
        assert p.dtype == np.float64
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=0, atol=1e-10, err_msg=f"{kind} {name}")
    # the replicas did move away from their start, and stayed equal across ranks
    start = next(build(kind).parameters()).numpy()
    assert np.abs(next(model.parameters()).numpy() - start).max() > 1e-3
print("ok", rank)
"""


def test_data_parallel_equals_one_process_with_the_whole_batch(tmp_path):
    """2 ranks x B/2 rows = 1 process x B rows after 10 AdamW steps with clipping (float64, 1e-10),
    for the MLP and the GPT."""
    assert run_script(tmp_path, EQUALS_LARGE_BATCH).count("ok") == 2
