"""Spatial transformer network, after PyTorch's "Spatial Transformer Networks" tutorial: a localisation
network predicts an affine transform, F.affine_grid and F.grid_sample apply it, and a small classifier
reads the result. Synthetic shifted "digits" instead of MNIST."""

# ruff: noqa  (the tutorial's style)

import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 8, kernel_size=3)
        self.conv2 = nn.Conv2d(8, 16, kernel_size=3)
        self.fc1 = nn.Linear(16 * 2 * 2, 32)
        self.fc2 = nn.Linear(32, 4)

        # Spatial transformer localization-network
        self.localization = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=3),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True),
            nn.Conv2d(8, 10, kernel_size=3),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True)
        )

        # Regressor for the 3 * 2 affine matrix
        self.fc_loc = nn.Sequential(
            nn.Linear(10 * 2 * 2, 32),
            nn.ReLU(True),
            nn.Linear(32, 3 * 2)
        )

        # Initialize the weights/bias with identity transformation
        self.fc_loc[2].weight.data.zero_()
        self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

    # Spatial transformer network forward function
    def stn(self, x):
        xs = self.localization(x)
        xs = xs.view(-1, 10 * 2 * 2)
        theta = self.fc_loc(xs)
        theta = theta.view(-1, 2, 3)

        grid = F.affine_grid(theta, x.size(), align_corners=False)
        x = F.grid_sample(x, grid, align_corners=False)

        return x

    def forward(self, x):
        # transform the input
        x = self.stn(x)

        # Perform the usual forward pass
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = x.view(-1, 16 * 2 * 2)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, training=self.training)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--epochs', type=int, default=6)
    args = parser.parse_args(argv)
    torch.manual_seed(0)

    # Four classes (a bar's orientation) drawn at random offsets in 14x14 images.
    n = 128
    targets = torch.randint(0, 4, (n,))
    data = 0.2 * torch.randn(n, 1, 14, 14)
    offsets = torch.randint(-2, 3, (n, 2))
    for i in range(n):
        r, c = 7 + offsets[i, 0].item(), 7 + offsets[i, 1].item()
        kind = targets[i].item()
        if kind == 0:
            data[i, 0, r, c - 3:c + 3] += 1
        elif kind == 1:
            data[i, 0, r - 3:r + 3, c] += 1
        elif kind == 2:
            for k in range(-3, 3):
                data[i, 0, r + k, c + k] += 1
        else:
            for k in range(-3, 3):
                data[i, 0, r + k, c - k] += 1
    train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data, targets), batch_size=32,
                                               shuffle=True)

    model = Net()
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        for batch_idx, (x, target) in enumerate(train_loader):
            optimizer.zero_grad()
            output = model(x)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        print('Train Epoch: {} Loss: {:.6f}'.format(epoch, losses[-1]))
    return losses


if __name__ == "__main__":
    main()
