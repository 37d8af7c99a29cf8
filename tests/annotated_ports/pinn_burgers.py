"""Physics-informed neural networks for Burgers' equation, as the widely copied PyTorch port of Raissi et al.'s
PINNs writes them (jayroxis/PINNs, "Burgers Inference (PyTorch)" and "Burgers Identification (PyTorch)").

    u_t + u u_x - (0.01 / pi) u_xx = 0,   x in [-1, 1], t in [0, 1],   u(0, x) = -sin(pi x),   u(t, -1) = u(t, 1) = 0

Both notebooks as one program: the ``DNN`` (an ``nn.Sequential`` of an ``OrderedDict`` of Linear / Tanh layers),
the residual ``net_f`` with ``torch.autograd.grad(u, x, grad_outputs=torch.ones_like(u), retain_graph=True,
create_graph=True)`` for u_t, u_x and u_xx on collocation points that require grad, and the optimisers:
``--problem inference`` (the data-driven solution) fits the initial and boundary data plus the residual with
``torch.optim.LBFGS(..., line_search_fn="strong_wolfe")`` and a closure; ``--problem identification`` (the
data-driven discovery of lambda_1 and nu) registers ``lambda_1`` / ``lambda_2`` on the network with
``register_parameter`` and runs Adam first, then L-BFGS.

What changes: the data. ``data/burgers_shock.mat`` (Raissi's spectral solution) is written here when it is missing,
from the Cole-Hopf solution by Gauss-Hermite quadrature, on a coarser grid; pyDOE's ``lhs`` (not installed) is a
small Latin-hypercube sampler of the same signature; sizes and iteration counts are small, the losses are kept
and returned, and the plots (matplotlib, griddata) are left out.
"""
# ruff: noqa  (the notebooks' style)

import argparse
import os
import sys
import time
from collections import OrderedDict

import numpy as np
import scipy.io
import torch

np.random.seed(1234)

# CUDA support
if torch.cuda.is_available():
    device = torch.device('cuda')
else:
    device = torch.device('cpu')


# --- data: stand-ins for the repository's burgers_shock.mat and for pyDOE ------------------------------------


def write_burgers_shock(path, nx=64, nt=21, nu=0.01 / np.pi, quadrature=160):
    """Cole-Hopf: u = -int sin(pi (x - e)) f(x - e) G(e) de / int f(x - e) G(e) de, with
    f(y) = exp(-cos(pi y) / (2 pi nu)) and G the heat kernel of width sqrt(4 nu t); u(0, x) = -sin(pi x)."""
    x = np.linspace(-1, 1, nx)
    t = np.linspace(0, 1, nt)
    z, w = np.polynomial.hermite.hermgauss(quadrature)
    usol = np.empty((nx, nt))
    usol[:, 0] = -np.sin(np.pi * x)
    for j, tj in enumerate(t[1:], start=1):
        y = x[:, None] - np.sqrt(4 * nu * tj) * z[None, :]
        exponent = -np.cos(np.pi * y) / (2 * np.pi * nu)
        weight = w * np.exp(exponent - exponent.max(axis=1, keepdims=True))
        usol[:, j] = -(np.sin(np.pi * y) * weight).sum(1) / weight.sum(1)
    usol[[0, -1], :] = 0.0
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    scipy.io.savemat(path, {"t": t[:, None], "x": x[:, None], "usol": usol})


def lhs(n, samples):
    """Latin hypercube samples in [0, 1)^n (pyDOE's ``lhs(n, samples)`` with its default criterion)."""
    cut = np.linspace(0, 1, samples + 1)
    u = np.random.rand(samples, n)
    points = cut[:samples, None] + u * (cut[1] - cut[0])
    for j in range(n):
        points[:, j] = points[np.random.permutation(samples), j]
    return points


# --- Physics-informed Neural Networks ------------------------------------------------------------------------


# the deep neural network
class DNN(torch.nn.Module):
    def __init__(self, layers):
        super(DNN, self).__init__()

        # parameters
        self.depth = len(layers) - 1

        # set up layer order dict
        self.activation = torch.nn.Tanh

        layer_list = list()
        for i in range(self.depth - 1):
            layer_list.append(
                ('layer_%d' % i, torch.nn.Linear(layers[i], layers[i+1]))
            )
            layer_list.append(('activation_%d' % i, self.activation()))

        layer_list.append(
            ('layer_%d' % (self.depth - 1), torch.nn.Linear(layers[-2], layers[-1]))
        )
        layerDict = OrderedDict(layer_list)

        # deploy layers
        self.layers = torch.nn.Sequential(layerDict)

    def forward(self, x):
        out = self.layers(x)
        return out


# the physics-guided neural network ("Burgers Inference")
class PhysicsInformedNN():
    def __init__(self, X_u, u, X_f, layers, lb, ub, nu, max_iter=50000):

        # boundary conditions
        self.lb = torch.tensor(lb).float().to(device)
        self.ub = torch.tensor(ub).float().to(device)

        # data
        self.x_u = torch.tensor(X_u[:, 0:1], requires_grad=True).float().to(device)
        self.t_u = torch.tensor(X_u[:, 1:2], requires_grad=True).float().to(device)
        self.x_f = torch.tensor(X_f[:, 0:1], requires_grad=True).float().to(device)
        self.t_f = torch.tensor(X_f[:, 1:2], requires_grad=True).float().to(device)
        self.u = torch.tensor(u).float().to(device)

        self.layers = layers
        self.nu = nu

        # deep neural networks
        self.dnn = DNN(layers).to(device)

        # optimizers: using the same settings
        self.optimizer = torch.optim.LBFGS(
            self.dnn.parameters(),
            lr=1.0,
            max_iter=max_iter,
            max_eval=max_iter,
            history_size=50,
            tolerance_grad=1e-5,
            tolerance_change=1.0 * np.finfo(float).eps,
            line_search_fn="strong_wolfe"       # can be "strong_wolfe"
        )

        self.iter = 0
        self.losses = []

    def net_u(self, x, t):
        u = self.dnn(torch.cat([x, t], dim=1))
        return u

    def net_f(self, x, t):
        """ The pytorch autograd version of calculating residual """
        u = self.net_u(x, t)

        u_t = torch.autograd.grad(
            u, t,
            grad_outputs=torch.ones_like(u),
            retain_graph=True,
            create_graph=True
        )[0]
        u_x = torch.autograd.grad(
            u, x,
            grad_outputs=torch.ones_like(u),
            retain_graph=True,
            create_graph=True
        )[0]
        u_xx = torch.autograd.grad(
            u_x, x,
            grad_outputs=torch.ones_like(u_x),
            retain_graph=True,
            create_graph=True
        )[0]

        f = u_t + u * u_x - self.nu * u_xx
        return f

    def loss_func(self):
        self.optimizer.zero_grad()

        u_pred = self.net_u(self.x_u, self.t_u)
        f_pred = self.net_f(self.x_f, self.t_f)
        loss_u = torch.mean((self.u - u_pred) ** 2)
        loss_f = torch.mean(f_pred ** 2)

        loss = loss_u + loss_f

        loss.backward()
        self.iter += 1
        self.losses.append(loss.item())
        if self.iter % 100 == 0:
            print(
                'Iter %d, Loss: %.5e, Loss_u: %.5e, Loss_f: %.5e' % (self.iter, loss.item(), loss_u.item(), loss_f.item())
            )
        return loss

    def train(self):
        self.dnn.train()

        # Backward and optimize
        self.optimizer.step(self.loss_func)

    def predict(self, X):
        x = torch.tensor(X[:, 0:1], requires_grad=True).float().to(device)
        t = torch.tensor(X[:, 1:2], requires_grad=True).float().to(device)

        self.dnn.eval()
        u = self.net_u(x, t)
        f = self.net_f(x, t)
        u = u.detach().cpu().numpy()
        f = f.detach().cpu().numpy()
        return u, f


# the physics-guided neural network ("Burgers Identification")
class PhysicsInformedNNIdentification():
    def __init__(self, X, u, layers, lb, ub, max_iter=50000):

        # boundary conditions
        self.lb = torch.tensor(lb).float().to(device)
        self.ub = torch.tensor(ub).float().to(device)

        # data
        self.x = torch.tensor(X[:, 0:1], requires_grad=True).float().to(device)
        self.t = torch.tensor(X[:, 1:2], requires_grad=True).float().to(device)
        self.u = torch.tensor(u).float().to(device)

        # settings
        self.lambda_1 = torch.tensor([0.0], requires_grad=True).to(device)
        self.lambda_2 = torch.tensor([-6.0], requires_grad=True).to(device)

        self.lambda_1 = torch.nn.Parameter(self.lambda_1)
        self.lambda_2 = torch.nn.Parameter(self.lambda_2)

        # deep neural networks
        self.dnn = DNN(layers).to(device)
        self.dnn.register_parameter('lambda_1', self.lambda_1)
        self.dnn.register_parameter('lambda_2', self.lambda_2)

         # optimizers: using the same settings
        self.optimizer = torch.optim.LBFGS(
            self.dnn.parameters(),
            lr=1.0,
            max_iter=max_iter,
            max_eval=max_iter,
            history_size=50,
            tolerance_grad=1e-5,
            tolerance_change=1.0 * np.finfo(float).eps,
            line_search_fn="strong_wolfe"       # can be "strong_wolfe"
        )

        self.optimizer_Adam = torch.optim.Adam(self.dnn.parameters())
        self.iter = 0
        self.losses = []

    def net_u(self, x, t):
        u = self.dnn(torch.cat([x, t], dim=1))
        return u

    def net_f(self, x, t):
        """ The pytorch autograd version of calculating residual """
        lambda_1 = self.lambda_1
        lambda_2 = torch.exp(self.lambda_2)
        u = self.net_u(x, t)

        u_t = torch.autograd.grad(
            u, t,
            grad_outputs=torch.ones_like(u),
            retain_graph=True,
            create_graph=True
        )[0]
        u_x = torch.autograd.grad(
            u, x,
            grad_outputs=torch.ones_like(u),
            retain_graph=True,
            create_graph=True
        )[0]
        u_xx = torch.autograd.grad(
            u_x, x,
            grad_outputs=torch.ones_like(u_x),
            retain_graph=True,
            create_graph=True
        )[0]

        f = u_t + lambda_1 * u * u_x - lambda_2 * u_xx
        return f

    def loss_func(self):
        u_pred = self.net_u(self.x, self.t)
        f_pred = self.net_f(self.x, self.t)
        loss = torch.mean((self.u - u_pred) ** 2) + torch.mean(f_pred ** 2)
        self.optimizer.zero_grad()
        loss.backward()

        self.iter += 1
        self.losses.append(loss.item())
        if self.iter % 100 == 0:
            print(
                'Loss: %e, l1: %.5f, l2: %.5f' %
                (
                    loss.item(),
                    self.lambda_1.item(),
                    torch.exp(self.lambda_2.detach()).item()
                )
            )
        return loss

    def train(self, nIter):
        self.dnn.train()
        for epoch in range(nIter):
            u_pred = self.net_u(self.x, self.t)
            f_pred = self.net_f(self.x, self.t)
            loss = torch.mean((self.u - u_pred) ** 2) + torch.mean(f_pred ** 2)

            # Backward and optimize
            self.optimizer_Adam.zero_grad()
            loss.backward()
            self.optimizer_Adam.step()
            self.losses.append(loss.item())

            if epoch % 100 == 0:
                print(
                    'It: %d, Loss: %.3e, Lambda_1: %.3f, Lambda_2: %.6f' %
                    (
                        epoch,
                        loss.item(),
                        self.lambda_1.item(),
                        torch.exp(self.lambda_2).item()
                    )
                )

        # Backward and optimize
        self.optimizer.step(self.loss_func)

    def predict(self, X):
        x = torch.tensor(X[:, 0:1], requires_grad=True).float().to(device)
        t = torch.tensor(X[:, 1:2], requires_grad=True).float().to(device)

        self.dnn.eval()
        u = self.net_u(x, t)
        f = self.net_f(x, t)
        u = u.detach().cpu().numpy()
        f = f.detach().cpu().numpy()
        return u, f


# --- Configurations ------------------------------------------------------------------------------------------


def load_data(path):
    if not os.path.exists(path):
        write_burgers_shock(path)
    data = scipy.io.loadmat(path)

    t = data['t'].flatten()[:,None]
    x = data['x'].flatten()[:,None]
    Exact = np.real(data['usol']).T

    X, T = np.meshgrid(x,t)

    X_star = np.hstack((X.flatten()[:,None], T.flatten()[:,None]))
    u_star = Exact.flatten()[:,None]

    # Doman bounds
    lb = X_star.min(0)
    ub = X_star.max(0)
    return X, T, Exact, X_star, u_star, lb, ub


def inference_data(path, N_u, N_f):
    X, T, Exact, X_star, u_star, lb, ub = load_data(path)

    xx1 = np.hstack((X[0:1,:].T, T[0:1,:].T))
    uu1 = Exact[0:1,:].T
    xx2 = np.hstack((X[:,0:1], T[:,0:1]))
    uu2 = Exact[:,0:1]
    xx3 = np.hstack((X[:,-1:], T[:,-1:]))
    uu3 = Exact[:,-1:]

    X_u_train = np.vstack([xx1, xx2, xx3])
    X_f_train = lb + (ub-lb)*lhs(2, N_f)
    X_f_train = np.vstack((X_f_train, X_u_train))
    u_train = np.vstack([uu1, uu2, uu3])

    idx = np.random.choice(X_u_train.shape[0], N_u, replace=False)
    X_u_train = X_u_train[idx, :]
    u_train = u_train[idx,:]
    return X_u_train, u_train, X_f_train, X_star, u_star, lb, ub


def identification_data(path, N_u, noise=0.0):
    X, T, Exact, X_star, u_star, lb, ub = load_data(path)

    # create training set
    idx = np.random.choice(X_star.shape[0], N_u, replace=False)
    X_u_train = X_star[idx,:]
    u_train = u_star[idx,:]
    u_train = u_train + noise*np.std(u_train)*np.random.randn(u_train.shape[0], u_train.shape[1])
    return X_u_train, u_train, X_star, u_star, lb, ub


def main(argv=None):
    parser = argparse.ArgumentParser(description="PINNs for Burgers' equation, tiny")
    parser.add_argument("--problem", default="inference", choices=["inference", "identification"])
    parser.add_argument("--data", default="data/burgers_shock.mat")
    parser.add_argument("--n-u", type=int, default=40)
    parser.add_argument("--n-f", type=int, default=300)
    parser.add_argument("--width", type=int, default=20)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--adam-iters", type=int, default=30)
    parser.add_argument("--lbfgs-iters", type=int, default=30)
    parser.add_argument("--noise", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args(argv)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    nu = 0.01/np.pi
    layers = [2] + [args.width] * args.depth + [1]

    start = time.time()
    if args.problem == "inference":
        X_u_train, u_train, X_f_train, X_star, u_star, lb, ub = inference_data(args.data, args.n_u, args.n_f)
        model = PhysicsInformedNN(X_u_train, u_train, X_f_train, layers, lb, ub, nu, max_iter=args.lbfgs_iters)
        model.train()
    else:
        X_u_train, u_train, X_star, u_star, lb, ub = identification_data(args.data, args.n_u, args.noise)
        model = PhysicsInformedNNIdentification(X_u_train, u_train, layers, lb, ub, max_iter=args.lbfgs_iters)
        model.train(args.adam_iters)
        lambda_1_value = model.lambda_1.detach().cpu().numpy()
        lambda_2_value = np.exp(model.lambda_2.detach().cpu().numpy())
        error_lambda_1 = np.abs(lambda_1_value - 1.0) * 100
        error_lambda_2 = np.abs(lambda_2_value - nu) / nu * 100
        print('Error l1: %.5f%%' % (error_lambda_1[0]))  # ([0]: numpy 2 formats no 1-element array)
        print('Error l2: %.5f%%' % (error_lambda_2[0]))
    print('Training time: %.4f' % (time.time() - start))

    u_pred, f_pred = model.predict(X_star)
    error_u = np.linalg.norm(u_star-u_pred,2)/np.linalg.norm(u_star,2)
    print('Error u: %e' % (error_u))
    return model.losses


if __name__ == "__main__":
    main(sys.argv[1:])
