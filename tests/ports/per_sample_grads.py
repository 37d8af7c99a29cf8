"""Per-sample gradients with torch.func, after PyTorch's "Per-sample-gradients" tutorial, used for
DP-SGD-style training (clip each sample's gradient, add noise, average)."""

# ruff: noqa  (the code keeps the tutorial's style)

import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, vmap


class SimpleCNN(nn.Module):
    def __init__(self):
        super(SimpleCNN, self).__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 1)
        self.fc1 = nn.Linear(16 * 2 * 2, 32)
        self.fc2 = nn.Linear(32, 4)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def loss_fn(predictions, targets):
    return F.nll_loss(predictions, targets)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--steps', type=int, default=20)
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--max-grad-norm', type=float, default=1.0)
    parser.add_argument('--noise-multiplier', type=float, default=0.1)
    parser.add_argument('--lr', type=float, default=0.5)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    device = 'cpu'

    # Four classes of 8x8 images: which quadrant is bright.
    def make_batch(n):
        targets = torch.randint(4, (n,), device=device)
        data = 0.3 * torch.randn(n, 1, 8, 8, device=device)
        for i, quadrant in enumerate(targets.tolist()):
            r, c = divmod(quadrant, 2)
            data[i, 0, r * 4:(r + 1) * 4, c * 4:(c + 1) * 4] += 1.0
        return data, targets

    model = SimpleCNN().to(device=device)

    # The tutorial's check: the vmapped per-sample gradients equal a loop of ordinary backward passes.
    data, targets = make_batch(8)

    def compute_grad(sample, target):
        sample = sample.unsqueeze(0)  # prepend batch dimension for processing
        target = target.unsqueeze(0)

        prediction = model(sample)
        loss = loss_fn(prediction, target)

        return torch.autograd.grad(loss, list(model.parameters()))

    def compute_sample_grads(data, targets):
        """ manually process each sample with per sample gradient """
        sample_grads = [compute_grad(data[i], targets[i]) for i in range(data.shape[0])]
        sample_grads = zip(*sample_grads)
        sample_grads = [torch.stack(shards) for shards in sample_grads]
        return sample_grads

    per_sample_grads = compute_sample_grads(data, targets)

    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def compute_loss(params, buffers, sample, target):
        batch = sample.unsqueeze(0)
        targets = target.unsqueeze(0)

        predictions = functional_call(model, (params, buffers), (batch,))
        loss = loss_fn(predictions, targets)
        return loss

    ft_compute_grad = grad(compute_loss)
    ft_compute_sample_grad = vmap(ft_compute_grad, in_dims=(None, None, 0, 0))
    ft_per_sample_grads = ft_compute_sample_grad(params, buffers, data, targets)

    for per_sample_grad, ft_per_sample_grad in zip(per_sample_grads, ft_per_sample_grads.values()):
        assert torch.allclose(per_sample_grad, ft_per_sample_grad, atol=3e-3, rtol=1e-5)

    # DP-SGD: clip every sample's gradient to max_grad_norm, sum, add Gaussian noise, average, step.
    losses = []
    for step in range(args.steps):
        data, targets = make_batch(args.batch_size)
        with torch.no_grad():
            losses.append(loss_fn(functional_call(model, (params, buffers), (data,)), targets).item())
        sample_grads = ft_compute_sample_grad(params, buffers, data, targets)
        norms = torch.stack([g.flatten(1).norm(dim=1) for g in sample_grads.values()], dim=1).norm(dim=1)
        factors = (args.max_grad_norm / (norms + 1e-6)).clamp(max=1.0)
        for name, g in sample_grads.items():
            clipped = torch.einsum('b,b...->...', factors, g)
            noise = torch.randn_like(clipped) * args.noise_multiplier * args.max_grad_norm
            params[name] = params[name] - args.lr * (clipped + noise) / args.batch_size
        if step % 5 == 0:
            print('step {} loss {:.4f}'.format(step, losses[-1]))
    return losses


if __name__ == "__main__":
    main()
