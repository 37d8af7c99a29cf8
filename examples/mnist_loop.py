"""A plain training loop, ported line by line from PyTorch's MNIST example (pytorch/examples, mnist/main.py).

What changed from the PyTorch script: ``torch`` -> ``ember``, ``torchvision`` -> ``ember.vision``,
``torch.utils.data`` -> ``ember.data``, and ``datasets.MNIST`` -> ``datasets.SyntheticDigits`` (the built-in
MNIST-like digits, so nothing is downloaded; pass ``--mnist DIR`` to use real MNIST files from DIR). There is
no ``device`` / ``.to(device)``: Ember runs on the CPU. Everything else is the same code.

Run:  python examples/mnist_loop.py [--epochs 1] [--max-steps N] [--train-size 6000]
"""

from __future__ import annotations

import argparse

import ember
import ember.nn.functional as F
from ember import nn, optim
from ember.optim.lr_scheduler import StepLR
from ember.vision import datasets, transforms


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = ember.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(args, model, train_loader, optimizer, epoch, steps_done):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        if steps_done >= args.max_steps:
            break
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        steps_done += 1
        if batch_idx % args.log_interval == 0:
            print(f"Train Epoch: {epoch} [{batch_idx * len(data)}/{len(train_loader.dataset)} "
                  f"({100.0 * batch_idx / len(train_loader):.0f}%)]\tLoss: {loss.item():.6f}")
    return steps_done


def test(model, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with ember.no_grad():
        for data, target in test_loader:
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()  # sum up batch loss
            pred = output.argmax(dim=1, keepdim=True)  # get the index of the max log-probability
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    accuracy = 100.0 * correct / len(test_loader.dataset)
    print(f"\nTest set: Average loss: {test_loss:.4f}, Accuracy: {correct}/{len(test_loader.dataset)} "
          f"({accuracy:.0f}%)\n")
    return accuracy


def main():
    parser = argparse.ArgumentParser(description="Ember MNIST Example")
    parser.add_argument("--batch-size", type=int, default=64, metavar="N")
    parser.add_argument("--test-batch-size", type=int, default=1000, metavar="N")
    parser.add_argument("--epochs", type=int, default=1, metavar="N")
    parser.add_argument("--lr", type=float, default=1.0, metavar="LR")
    parser.add_argument("--gamma", type=float, default=0.7, metavar="M")
    parser.add_argument("--seed", type=int, default=1, metavar="S")
    parser.add_argument("--log-interval", type=int, default=10, metavar="N")
    parser.add_argument("--save-model", action="store_true", default=False)
    parser.add_argument("--max-steps", type=int, default=10**9, help="stop training after this many batches")
    parser.add_argument("--train-size", type=int, default=6000, help="SyntheticDigits training images")
    parser.add_argument("--test-size", type=int, default=1000, help="SyntheticDigits test images")
    parser.add_argument("--mnist", metavar="DIR", default=None, help="use real MNIST files from DIR instead")
    args = parser.parse_args()

    ember.manual_seed(args.seed)

    train_kwargs = {"batch_size": args.batch_size, "shuffle": True}
    test_kwargs = {"batch_size": args.test_batch_size}

    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    if args.mnist:
        dataset1 = datasets.MNIST(args.mnist, train=True, transform=transform)
        dataset2 = datasets.MNIST(args.mnist, train=False, transform=transform)
    else:
        dataset1 = datasets.SyntheticDigits(train=True, size=args.train_size, transform=transform)
        dataset2 = datasets.SyntheticDigits(train=False, size=args.test_size, transform=transform)
    train_loader = ember.data.DataLoader(dataset1, **train_kwargs)
    test_loader = ember.data.DataLoader(dataset2, **test_kwargs)

    model = Net()
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)

    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    steps_done = 0
    for epoch in range(1, args.epochs + 1):
        steps_done = train(args, model, train_loader, optimizer, epoch, steps_done)
        test(model, test_loader)
        scheduler.step()

    if args.save_model:
        ember.save(model.state_dict(), "mnist_cnn.ember")


if __name__ == "__main__":
    main()
