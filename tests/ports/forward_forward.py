"""The forward-forward algorithm, after pytorch/examples mnist_forward_forward/main.py (Mohammad Pezeshki's
implementation, as modified there by Vivek V Patel): each ``Layer`` (an ``nn.Linear`` subclass with its own
Adam, whose ``train`` shadows ``nn.Module.train``) learns alone to give positive data (the true label
overlaid on the image) a high "goodness" and negative data (a wrong label) a low one; the label is
predicted by the goodness summed over layers.

Synthetic 28x28 digits (PIL images through ``ToTensor`` / ``Normalize`` / ``Lambda(torch.flatten)``) stand in
for MNIST, and the sizes are small. As in the example, ``args`` and ``device`` are module globals.
"""

# ruff: noqa  (the code keeps pytorch/examples' style: globals args / device, list concatenation)

import argparse

import numpy as np
from PIL import Image

import torch
import torch.nn as nn
from torchvision.transforms import Compose, ToTensor, Normalize, Lambda
from torch.utils.data import DataLoader, Dataset
from torch.optim import Adam


class SyntheticMNIST(Dataset):
    """MNIST's (PIL image, label) pairs: ten shapes (bars and boxes at set places) over faint noise."""

    def __init__(self, n, seed, transform=None):
        rng = np.random.default_rng(seed)
        self.targets = rng.integers(0, 10, n).tolist()
        self.data = []
        for label in self.targets:
            image = rng.integers(0, 30, (28, 28))
            r, c = 6 + 2 * (label % 5), 4 + 10 * (label // 5)
            image[r:r + 12, c:c + 3] = 255
            if label % 2:
                image[r:r + 3, c:c + 10] = 255
            self.data.append(image.astype(np.uint8))
        self.transform = transform

    def __getitem__(self, index):
        img = Image.fromarray(self.data[index], mode="L")
        if self.transform is not None:
            img = self.transform(img)
        return img, self.targets[index]

    def __len__(self):
        return len(self.data)


def get_y_neg(y):
    y_neg = y.clone()
    for idx, y_samp in enumerate(y):
        allowed_indices = list(range(10))
        allowed_indices.remove(y_samp.item())
        y_neg[idx] = torch.tensor(allowed_indices)[
            torch.randint(len(allowed_indices), size=(1,))
        ].item()
    return y_neg.to(device)


def overlay_y_on_x(x, y, classes=10):
    x_ = x.clone()
    x_[:, :classes] *= 0.0
    x_[range(x.shape[0]), y] = x.max()
    return x_


class Net(torch.nn.Module):
    def __init__(self, dims):

        super().__init__()
        self.layers = []
        for d in range(len(dims) - 1):
            self.layers = self.layers + [Layer(dims[d], dims[d + 1]).to(device)]

    def predict(self, x):
        goodness_per_label = []
        for label in range(10):
            h = overlay_y_on_x(x, label)
            goodness = []
            for layer in self.layers:
                h = layer(h)
                goodness = goodness + [h.pow(2).mean(1)]
            goodness_per_label += [sum(goodness).unsqueeze(1)]
        goodness_per_label = torch.cat(goodness_per_label, 1)
        return goodness_per_label.argmax(1)

    def train(self, x_pos, x_neg):
        h_pos, h_neg = x_pos, x_neg
        for i, layer in enumerate(self.layers):
            print("training layer: ", i)
            h_pos, h_neg = layer.train(h_pos, h_neg)


class Layer(nn.Linear):
    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__(in_features, out_features, bias, device, dtype)
        self.relu = torch.nn.ReLU()
        self.opt = Adam(self.parameters(), lr=args.lr)
        self.threshold = args.threshold
        self.num_epochs = args.epochs
        self.losses = []

    def forward(self, x):
        x_direction = x / (x.norm(2, 1, keepdim=True) + 1e-4)
        return self.relu(torch.mm(x_direction, self.weight.T) + self.bias.unsqueeze(0))

    def train(self, x_pos, x_neg):
        for i in range(self.num_epochs):
            g_pos = self.forward(x_pos).pow(2).mean(1)
            g_neg = self.forward(x_neg).pow(2).mean(1)
            loss = torch.log1p(
                torch.exp(
                    torch.cat([-g_pos + self.threshold, g_neg - self.threshold])
                )
            ).mean()
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            self.losses.append(loss.item())
            if i % args.log_interval == 0:
                print("Loss: ", loss.item())
        return self.forward(x_pos).detach(), self.forward(x_neg).detach()


def main(argv=None):
    global args, device
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=60, metavar="N", help="number of epochs to train")
    parser.add_argument("--lr", type=float, default=0.03, metavar="LR", help="learning rate (default: 0.03)")
    parser.add_argument("--no_cuda", action="store_true", default=False, help="disables CUDA training")
    parser.add_argument("--no_xpu", action="store_true", default=False, help="disables XPU training")
    parser.add_argument("--no_mps", action="store_true", default=False, help="disables MPS training")
    parser.add_argument("--seed", type=int, default=1, metavar="S", help="random seed (default: 1)")
    parser.add_argument("--train_size", type=int, default=500, help="size of training set")
    parser.add_argument("--threshold", type=float, default=2, help="threshold for training")
    parser.add_argument("--test_size", type=int, default=200, help="size of test set")
    parser.add_argument("--hidden", type=int, default=200, help="width of the two layers (the example's: 500)")
    parser.add_argument("--save-model", action="store_true", default=False, help="For Saving the current Model")
    parser.add_argument("--log-interval", type=int, default=10, metavar="N",
                        help="how many batches to wait before logging training status")
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    use_cuda = not args.no_cuda and torch.cuda.is_available()
    use_xpu = not args.no_xpu and torch.xpu.is_available()
    use_mps = not args.no_mps and torch.backends.mps.is_available()
    if use_cuda:
        device = torch.device("cuda")
    elif use_xpu:
        device = torch.device("xpu")
    elif use_mps:
        device = torch.device("mps")
    else:
        device = torch.device("cpu")

    train_kwargs = {"batch_size": args.train_size}
    test_kwargs = {"batch_size": args.test_size}

    if use_cuda:
        cuda_kwargs = {"num_workers": 1, "pin_memory": True, "shuffle": True}
        train_kwargs.update(cuda_kwargs)
        test_kwargs.update(cuda_kwargs)

    transform = Compose(
        [
            ToTensor(),
            Normalize((0.1307,), (0.3081,)),
            Lambda(lambda x: torch.flatten(x)),
        ]
    )
    train_loader = DataLoader(SyntheticMNIST(args.train_size, args.seed, transform=transform), **train_kwargs)
    test_loader = DataLoader(SyntheticMNIST(args.test_size, args.seed + 1, transform=transform), **test_kwargs)
    net = Net([784, args.hidden, args.hidden])
    x, y = next(iter(train_loader))
    x, y = x.to(device), y.to(device)
    x_pos = overlay_y_on_x(x, y)
    y_neg = get_y_neg(y)
    x_neg = overlay_y_on_x(x, y_neg)
    net.train(x_pos, x_neg)
    train_error = 1.0 - net.predict(x).eq(y).float().mean().item()
    print("train error:", train_error)
    x_te, y_te = next(iter(test_loader))
    x_te, y_te = x_te.to(device), y_te.to(device)
    if args.save_model:
        torch.save(net.state_dict(), "mnist_ff.pt")
    print("test error:", 1.0 - net.predict(x_te).eq(y_te).float().mean().item())
    assert train_error < 0.7, train_error  # chance is 0.9
    return net.layers[0].losses


if __name__ == "__main__":
    main()
