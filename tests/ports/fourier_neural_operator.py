"""1-D Fourier neural operator, after the neuraloperator repository's fourier_1d.py (Li et al., ICLR 2021).

Learns the solution operator of the heat equation on a periodic interval (u(x, 0) -> u(x, t)) from
random initial conditions: torch.fft.rfft / irfft, complex (cfloat) weights trained by Adam, einsum on
complex tensors.
"""

# ruff: noqa  (the code keeps the original's style: super(Cls, self), torch.nn as nn)

import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class SpectralConv1d(nn.Module):
    def __init__(self, in_channels, out_channels, modes1):
        super(SpectralConv1d, self).__init__()

        """
        1D Fourier layer. It does FFT, linear transform, and Inverse FFT.
        """

        self.in_channels = in_channels
        self.out_channels = out_channels
        self.modes1 = modes1  # Number of Fourier modes to multiply, at most floor(N/2) + 1

        self.scale = (1 / (in_channels * out_channels))
        self.weights1 = nn.Parameter(self.scale * torch.rand(in_channels, out_channels, self.modes1, dtype=torch.cfloat))

    # Complex multiplication
    def compl_mul1d(self, input, weights):
        # (batch, in_channel, x ), (in_channel, out_channel, x) -> (batch, out_channel, x)
        return torch.einsum("bix,iox->box", input, weights)

    def forward(self, x):
        batchsize = x.shape[0]
        # Compute Fourier coeffcients up to factor of e^(- something constant)
        x_ft = torch.fft.rfft(x)

        # Multiply relevant Fourier modes
        out_ft = torch.zeros(batchsize, self.out_channels, x.size(-1) // 2 + 1, device=x.device, dtype=torch.cfloat)
        out_ft[:, :, :self.modes1] = self.compl_mul1d(x_ft[:, :, :self.modes1], self.weights1)

        # Return to physical space
        x = torch.fft.irfft(out_ft, n=x.size(-1))
        return x


class FNO1d(nn.Module):
    def __init__(self, modes, width):
        super(FNO1d, self).__init__()

        """
        The overall network. It contains 2 layers of the Fourier layer.
        1. Lift the input to the desire channel dimension by self.fc0 .
        2. 2 layers of the integral operators u' = (W + K)(u).
            W defined by self.w; K defined by self.conv .
        3. Project from the channel space to the output space by self.fc1 and self.fc2 .

        input: the solution of the initial condition and location (a(x), x)
        input shape: (batchsize, x=s, c=2)
        output: the solution of a later timestep
        output shape: (batchsize, x=s, c=1)
        """

        self.modes1 = modes
        self.width = width
        self.fc0 = nn.Linear(2, self.width)  # input channel is 2: (a(x), x)

        self.conv0 = SpectralConv1d(self.width, self.width, self.modes1)
        self.conv1 = SpectralConv1d(self.width, self.width, self.modes1)
        self.w0 = nn.Conv1d(self.width, self.width, 1)
        self.w1 = nn.Conv1d(self.width, self.width, 1)

        self.fc1 = nn.Linear(self.width, 32)
        self.fc2 = nn.Linear(32, 1)

    def forward(self, x):
        grid = self.get_grid(x.shape, x.device)
        x = torch.cat((x, grid), dim=-1)
        x = self.fc0(x)
        x = x.permute(0, 2, 1)

        x1 = self.conv0(x)
        x2 = self.w0(x)
        x = x1 + x2
        x = F.gelu(x)

        x1 = self.conv1(x)
        x2 = self.w1(x)
        x = x1 + x2

        x = x.permute(0, 2, 1)
        x = self.fc1(x)
        x = F.gelu(x)
        x = self.fc2(x)
        return x

    def get_grid(self, shape, device):
        batchsize, size_x = shape[0], shape[1]
        gridx = torch.tensor(torch.linspace(0, 1, size_x), dtype=torch.float)
        gridx = gridx.reshape(1, size_x, 1).repeat([batchsize, 1, 1])
        return gridx.to(device)


def heat_equation_data(n, s, t, generator):
    """Random smooth periodic u0 and the exact heat-equation solution u(t) = sum_k c_k e^{-k^2 t} e^{ikx}."""
    k = torch.arange(s // 2 + 1)
    coefficients = torch.complex(torch.randn(n, s // 2 + 1, generator=generator),
                                 torch.randn(n, s // 2 + 1, generator=generator))
    coefficients = coefficients * (k < 6)  # smooth: the first few modes only
    u0 = torch.fft.irfft(coefficients, n=s)
    ut = torch.fft.irfft(coefficients * torch.exp(-(2 * math.pi * k) ** 2 * t / 40), n=s)
    return u0.unsqueeze(-1), ut.unsqueeze(-1)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--ntrain', type=int, default=64)
    parser.add_argument('--ntest', type=int, default=16)
    parser.add_argument('--s', type=int, default=32, help='grid size')
    parser.add_argument('--batch_size', type=int, default=16)
    parser.add_argument('--epochs', type=int, default=5)
    parser.add_argument('--learning_rate', type=float, default=0.005)
    parser.add_argument('--modes', type=int, default=8)
    parser.add_argument('--width', type=int, default=16)
    args = parser.parse_args(argv)
    torch.manual_seed(0)

    generator = torch.Generator().manual_seed(0)
    x_train, y_train = heat_equation_data(args.ntrain, args.s, 0.5, generator)
    x_test, y_test = heat_equation_data(args.ntest, args.s, 0.5, generator)
    train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_train, y_train),
                                               batch_size=args.batch_size, shuffle=True)
    test_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_test, y_test),
                                              batch_size=args.batch_size, shuffle=False)

    model = FNO1d(args.modes, args.width)
    print('parameters:', sum(p.numel() for p in model.parameters()))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=50, gamma=0.5)

    losses = []
    for ep in range(args.epochs):
        model.train()
        train_mse = 0
        for x, y in train_loader:
            optimizer.zero_grad()
            out = model(x)

            mse = F.mse_loss(out.view(x.size(0), -1), y.view(x.size(0), -1), reduction='mean')
            mse.backward()
            optimizer.step()
            train_mse += mse.item()
            losses.append(mse.item())

        scheduler.step()
        model.eval()
        test_l2 = 0.0
        with torch.no_grad():
            for x, y in test_loader:
                out = model(x)
                diff = torch.linalg.vector_norm(out.view(x.size(0), -1) - y.view(x.size(0), -1), dim=1)
                test_l2 += (diff / torch.linalg.vector_norm(y.view(x.size(0), -1), dim=1)).sum().item()

        train_mse /= len(train_loader)
        test_l2 /= args.ntest
        print(ep, train_mse, test_l2)
    return losses


if __name__ == "__main__":
    main()
