"""A PyTorch CPU data-parallel training script in the usual form (init_process_group, DistributedSampler,
DistributedDataParallel), written against torch; tests/distributed/test_nn_parallel.py renames it to Ember
and runs it under ``mpiexec -n 2`` and alone.

    python ddp_script.py OUT [--accumulate N] [--unused]

Rank 0 writes the final weights to OUT (.npz).
"""

# ruff: noqa
import argparse

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler


class Net(nn.Module):
    def __init__(self, unused):
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.fc2 = nn.Linear(16, 3)
        self.spare = nn.Linear(16, 3) if unused else None  # a head this task never uses

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--accumulate", type=int, default=1)
    parser.add_argument("--unused", action="store_true")
    args = parser.parse_args(argv)

    dist.init_process_group("gloo")
    world, rank = dist.get_world_size(), dist.get_rank()
    generator = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(64, 6, generator=generator, dtype=torch.float64),
                         torch.randint(0, 3, (64,), generator=generator))
    sampler = DistributedSampler(data, shuffle=True, seed=1)
    # a global batch of 16 samples per optimizer step, split between the ranks and accumulated batches
    loader = DataLoader(data, batch_size=16 // world // args.accumulate, sampler=sampler)

    torch.manual_seed(100 + rank)  # different initial weights per rank: DDP must start them equal
    model = DDP(Net(args.unused).double(), find_unused_parameters=args.unused)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.3, momentum=0.9)
    losses = []
    for epoch in range(2):
        sampler.set_epoch(epoch)
        for i, (x, y) in enumerate(loader):
            last = (i + 1) % args.accumulate == 0
            context = model.no_sync() if not last else _nothing()
            with context:
                loss = F.cross_entropy(model(x), y) / args.accumulate
                loss.backward()
            if last:
                optimizer.step()
                optimizer.zero_grad()
            losses.append(loss.item())
    total = torch.tensor([sum(losses)], dtype=torch.float64)
    dist.all_reduce(total)
    if rank == 0:
        np.savez(args.out, total=total.numpy(),
                 **{k: v.detach().numpy() for k, v in model.state_dict().items()})
    dist.barrier()
    dist.destroy_process_group()


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    main()
