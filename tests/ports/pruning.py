"""Pruning, after PyTorch's tutorial intermediate_source/pruning_tutorial.py (Michela Paganini): LeNet's
``conv1`` pruned with ``random_unstructured``, ``l1_unstructured`` (on the bias, by count) and
``ln_structured``, the ``weight_orig`` / ``weight_mask`` re-parametrization, the forward pre-hook and its
``PruningContainer`` history, the state dict, ``prune.remove``; every layer pruned in a loop; global
pruning with ``global_unstructured``; and a custom ``BasePruningMethod``.

The tutorial prunes an untrained LeNet; this program trains it a few steps on synthetic digits first, then
prunes 20% of the weights globally and fine-tunes with the masks in place (the pruned weights must stay
zero), as one does with the technique. The test watches the training loss.
"""

# ruff: noqa  (the code keeps the tutorial's style: print("...".format()), torch.nn as nn)

import argparse

import torch
from torch import nn
import torch.nn.utils.prune as prune
import torch.nn.functional as F


class LeNet(nn.Module):
    def __init__(self):
        super(LeNet, self).__init__()
        # 1 input image channel, 6 output channels, 5x5 square conv kernel
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)  # 5x5 image dimension
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, int(x.nelement() / x.shape[0]))
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


class FooBarPruningMethod(prune.BasePruningMethod):
    """Prune every other entry in a tensor
    """
    PRUNING_TYPE = 'unstructured'

    def compute_mask(self, t, default_mask):
        mask = default_mask.clone()
        mask.view(-1)[::2] = 0
        return mask


def foobar_unstructured(module, name):
    """Prunes tensor corresponding to parameter called `name` in `module`
    by removing every other entry in the tensors.
    Modifies module in place (and also return the modified module)
    by:
    1) adding a named buffer called `name+'_mask'` corresponding to the
    binary mask applied to the parameter `name` by the pruning method.
    The parameter `name` is replaced by its pruned version, while the
    original (unpruned) parameter is stored in a new parameter named
    `name+'_orig'`.

    Args:
        module (nn.Module): module containing the tensor to prune
        name (string): parameter name within `module` on which pruning
                will act.

    Returns:
        module (nn.Module): modified (i.e. pruned) version of the input
            module

    Examples:
        >>> m = nn.Linear(3, 4)
        >>> foobar_unstructured(m, name='bias')
    """
    FooBarPruningMethod.apply(module, name)
    return module


def synthetic_digits(n, generator):
    """32x32 images of ten shapes (bars and boxes at set places) and their labels."""
    labels = torch.randint(0, 10, (n,), generator=generator)
    images = 0.1 * torch.randn(n, 1, 32, 32, generator=generator)
    for i, label in enumerate(labels.tolist()):
        r, c = 4 + 2 * (label % 5), 4 + 12 * (label // 5)
        images[i, 0, r:r + 14, c:c + 4] += 1.0
        if label % 2:
            images[i, 0, r:r + 4, c:c + 12] += 1.0
    return images, labels


def train(model, images, labels, optimizer, steps, batch_size, losses):
    model.train()
    for step in range(steps):
        i = (step * batch_size) % len(images)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images[i:i + batch_size]), labels[i:i + batch_size])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())


def main(argv=None):
    parser = argparse.ArgumentParser(description='PyTorch pruning tutorial')
    parser.add_argument('--steps', type=int, default=32)
    parser.add_argument('--finetune-steps', type=int, default=8)
    parser.add_argument('--batch-size', type=int, default=32)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    model = LeNet().to(device=device)

    # Inspect a Module
    module = model.conv1
    print(list(module.named_parameters()))
    print(list(module.named_buffers()))

    # Pruning a Module
    prune.random_unstructured(module, name="weight", amount=0.3)
    print(list(module.named_parameters()))
    print(list(module.named_buffers()))
    print(module.weight)
    print(module._forward_pre_hooks)
    assert [name for name, _ in module.named_parameters()] == ['bias', 'weight_orig']
    assert int(torch.sum(module.weight_mask == 0)) == round(0.3 * 150)
    assert torch.equal(module.weight, module.weight_orig * module.weight_mask)

    prune.l1_unstructured(module, name="bias", amount=3)
    print(list(module.named_parameters()))
    print(list(module.named_buffers()))
    print(module.bias)
    print(module._forward_pre_hooks)
    assert int(torch.sum(module.bias == 0)) == 3

    # Iterative Pruning
    prune.ln_structured(module, name="weight", amount=0.5, n=2, dim=0)

    # As we can verify, this will zero out all the connections corresponding to
    # 50% (3 out of 6) of the channels, while preserving the action of the
    # previous mask.
    print(module.weight)
    assert int((module.weight.flatten(1).abs().sum(1) == 0).sum()) >= 3

    for hook in module._forward_pre_hooks.values():
        if hook._tensor_name == "weight":  # select out the correct hook
            break

    print(list(hook))  # pruning history in the container
    assert [type(h).__name__ for h in hook] == ['RandomUnstructured', 'LnStructured']

    # Serializing a pruned model
    print(model.state_dict().keys())
    assert list(model.state_dict().keys())[:4] == ['conv1.weight_orig', 'conv1.bias_orig', 'conv1.weight_mask',
                                                   'conv1.bias_mask']

    # Remove pruning re-parametrization
    print(list(module.named_parameters()))
    print(list(module.named_buffers()))
    print(module.weight)

    prune.remove(module, 'weight')
    print(list(module.named_parameters()))
    print(list(module.named_buffers()))
    assert [name for name, _ in module.named_buffers()] == ['bias_mask']

    # Pruning multiple parameters in a model
    new_model = LeNet()
    for name, module in new_model.named_modules():
        # prune 20% of connections in all 2D-conv layers
        if isinstance(module, torch.nn.Conv2d):
            prune.l1_unstructured(module, name='weight', amount=0.2)
        # prune 40% of connections in all linear layers
        elif isinstance(module, torch.nn.Linear):
            prune.l1_unstructured(module, name='weight', amount=0.4)

    print(dict(new_model.named_buffers()).keys())  # to verify that all masks exist

    # Global pruning, here after a few training steps, and followed by fine-tuning with the masks in place
    model = LeNet()
    images, labels = synthetic_digits(256, torch.Generator().manual_seed(0))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    train(model, images, labels, optimizer, args.steps, args.batch_size, losses)

    parameters_to_prune = (
        (model.conv1, 'weight'),
        (model.conv2, 'weight'),
        (model.fc1, 'weight'),
        (model.fc2, 'weight'),
        (model.fc3, 'weight'),
    )

    prune.global_unstructured(
        parameters_to_prune,
        pruning_method=prune.L1Unstructured,
        amount=0.2,
    )

    print(
        "Sparsity in conv1.weight: {:.2f}%".format(
            100. * float(torch.sum(model.conv1.weight == 0))
            / float(model.conv1.weight.nelement())
        )
    )
    print(
        "Sparsity in conv2.weight: {:.2f}%".format(
            100. * float(torch.sum(model.conv2.weight == 0))
            / float(model.conv2.weight.nelement())
        )
    )
    print(
        "Sparsity in fc1.weight: {:.2f}%".format(
            100. * float(torch.sum(model.fc1.weight == 0))
            / float(model.fc1.weight.nelement())
        )
    )
    print(
        "Sparsity in fc2.weight: {:.2f}%".format(
            100. * float(torch.sum(model.fc2.weight == 0))
            / float(model.fc2.weight.nelement())
        )
    )
    print(
        "Sparsity in fc3.weight: {:.2f}%".format(
            100. * float(torch.sum(model.fc3.weight == 0))
            / float(model.fc3.weight.nelement())
        )
    )
    global_zeros = (
        torch.sum(model.conv1.weight == 0)
        + torch.sum(model.conv2.weight == 0)
        + torch.sum(model.fc1.weight == 0)
        + torch.sum(model.fc2.weight == 0)
        + torch.sum(model.fc3.weight == 0)
    )
    global_size = (
        model.conv1.weight.nelement()
        + model.conv2.weight.nelement()
        + model.fc1.weight.nelement()
        + model.fc2.weight.nelement()
        + model.fc3.weight.nelement()
    )
    print("Global sparsity: {:.2f}%".format(100. * float(global_zeros) / float(global_size)))
    assert int(global_zeros) == round(0.2 * global_size)

    # Fine-tuning: the optimizer now sees weight_orig; the mask keeps the pruned connections at zero
    masks = {name: buffer.clone() for name, buffer in model.named_buffers()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    train(model, images, labels, optimizer, args.finetune_steps, args.batch_size, losses)
    for module, name in parameters_to_prune:
        prune.remove(module, name)
    state = model.state_dict()
    for name, mask in masks.items():
        assert torch.all(state[name.replace('_mask', '')][mask == 0] == 0), name

    # Extending torch.nn.utils.prune with custom pruning functions
    model = LeNet()
    foobar_unstructured(model.fc3, name='bias')

    print(model.fc3.bias_mask)
    assert model.fc3.bias_mask.tolist() == [0., 1.] * 5
    return losses


if __name__ == "__main__":
    main()
