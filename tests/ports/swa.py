"""Stochastic weight averaging and EMA, after the torch.optim documentation's "Weight Averaging (SWA and EMA)"
example: ``AveragedModel`` (plain and with ``get_ema_multi_avg_fn``, ``use_buffers=True``), ``SWALR`` taking
over from ``CosineAnnealingLR`` at ``swa_start``, ``update_bn`` recomputing the BatchNorm statistics of the
averaged model over the loader, and predictions from ``swa_model``.

A small MLP with BatchNorm on a synthetic two-spiral task stands in for the example's model and data; the
epochs are few.
"""

# ruff: noqa  (the code keeps the documentation's style)

import argparse
import math

import torch
import torch.nn as nn
from torch.optim.swa_utils import AveragedModel, SWALR, get_ema_multi_avg_fn, update_bn
from torch.utils.data import DataLoader, TensorDataset


def two_spirals(n, generator):
    t = torch.rand(n, generator=generator) * 3 * math.pi
    label = torch.randint(0, 2, (n,), generator=generator)
    r = t + 0.5
    sign = label.float() * 2 - 1
    x = torch.stack([sign * r * torch.cos(t), sign * r * torch.sin(t)], 1) / 10
    return x + 0.02 * torch.randn(n, 2, generator=generator), label


def main(argv=None):
    parser = argparse.ArgumentParser(description='SWA / EMA from the torch.optim documentation')
    parser.add_argument('--epochs', type=int, default=30)
    parser.add_argument('--swa-start', type=int, default=20)
    args = parser.parse_args(argv)
    torch.manual_seed(0)

    g = torch.Generator().manual_seed(0)
    x, y = two_spirals(512, g)
    test_input, test_target = two_spirals(256, g)
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)

    model = nn.Sequential(nn.Linear(2, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 64), nn.BatchNorm1d(64),
                          nn.ReLU(), nn.Linear(64, 2))
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    swa_model = AveragedModel(model)
    ema_model = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.99), use_buffers=True)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    swa_start = args.swa_start
    swa_scheduler = SWALR(optimizer, swa_lr=0.05)

    losses = []
    for epoch in range(args.epochs):
        epoch_loss = 0.0
        for input, target in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(input), target)
            loss.backward()
            optimizer.step()
            ema_model.update_parameters(model)
            epoch_loss += loss.item() * len(input)
        losses.append(epoch_loss / len(loader.dataset))
        if epoch > swa_start:
            swa_model.update_parameters(model)
            swa_scheduler.step()
        else:
            scheduler.step()
        print('epoch {} loss {:.4f} lr {:.4f}'.format(epoch, losses[-1], optimizer.param_groups[0]['lr']))

    assert swa_model.n_averaged.item() == args.epochs - swa_start - 1
    assert 0.045 < optimizer.param_groups[0]['lr'] <= 0.05  # SWALR anneals towards swa_lr (over 10 epochs)

    # Update bn statistics for the swa_model at the end
    update_bn(loader, swa_model)
    # the EMA model averaged its buffers too (use_buffers=True): no update_bn needed

    # Use swa_model to make predictions on test data
    swa_model.eval()
    ema_model.eval()
    model.eval()
    with torch.no_grad():
        preds = swa_model(test_input)
        for name, m in (('model', model), ('swa', swa_model), ('ema', ema_model)):
            accuracy = (m(test_input).argmax(1) == test_target).float().mean().item()
            print('{} test accuracy {:.3f}'.format(name, accuracy))
            if name != 'ema':  # (the EMA of a fast-moving BatchNorm net lags: ~0.4-0.5 in torch too)
                assert accuracy > 0.9, (name, accuracy)
    assert preds.shape == (256, 2)
    swa_bn = swa_model.module[1]
    assert swa_bn.num_batches_tracked.item() == len(loader)  # update_bn reset and recomputed the statistics
    return losses


if __name__ == "__main__":
    main()
