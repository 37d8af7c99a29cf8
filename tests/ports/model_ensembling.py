"""Model ensembling with torch.func, after PyTorch's tutorial intermediate_source/ensembling.py: ten
``SimpleMLP``s run one by one, then as one ``vmap`` of ``functional_call`` over the weights that
``stack_module_state`` stacked (on a ``'meta'`` copy of the model), over different minibatches
(``in_dims=0``) and over the same one (``in_dims=(0, 0, None)``), with ``torch.utils.benchmark.Timer``
comparing the two ways.

The tutorial stops at predictions; this program goes on as the functorch ensembling recipe does and trains
the stacked weights themselves with one optimizer, each model on its own minibatches, and checks that the
result is what ten separate trainings give.
"""

# ruff: noqa  (the code keeps the tutorial's style: torch.nn as nn, print(f'...'))

import argparse
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.benchmark import Timer


class SimpleMLP(nn.Module):
    def __init__(self):
        super(SimpleMLP, self).__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 128)
        self.fc3 = nn.Linear(128, 10)

    def forward(self, x):
        x = x.flatten(1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.fc2(x)
        x = F.relu(x)
        x = self.fc3(x)
        return x


def main(argv=None):
    parser = argparse.ArgumentParser(description='torch.func model ensembling tutorial')
    parser.add_argument('--num-models', type=int, default=10)
    parser.add_argument('--steps', type=int, default=8)
    parser.add_argument('--lr', type=float, default=1e-3)
    parser.add_argument('--timer-runs', type=int, default=5)
    args = parser.parse_args(argv)
    torch.manual_seed(0)

    device = 'cpu'
    num_models = args.num_models

    data = torch.randn(100, 64, 1, 28, 28, device=device)
    targets = torch.randint(10, (6400,), device=device)

    models = [SimpleMLP().to(device) for _ in range(num_models)]

    # Option 1: different minibatches for each model
    minibatches = data[:num_models]
    predictions_diff_minibatch_loop = [model(minibatch) for model, minibatch in zip(models, minibatches)]

    # Option 2: Same minibatch
    minibatch = data[0]
    predictions2 = [model(minibatch) for model in models]

    # Using vmap to vectorize the ensemble
    from torch.func import stack_module_state

    params, buffers = stack_module_state(models)

    from torch.func import functional_call

    # Construct a "stateless" version of one of the models. It is "stateless" in
    # the sense that the parameters are meta Tensors and do not have storage.
    base_model = copy.deepcopy(models[0])
    base_model = base_model.to('meta')

    def fmodel(params, buffers, x):
        return functional_call(base_model, (params, buffers), (x,))

    print([p.size(0) for p in params.values()]) # show the leading 'num_models' dimension

    assert minibatches.shape == (num_models, 64, 1, 28, 28) # verify minibatch has leading dimension of size 'num_models'

    from torch import vmap

    predictions1_vmap = vmap(fmodel)(params, buffers, minibatches)

    # verify the ``vmap`` predictions match the
    assert torch.allclose(predictions1_vmap, torch.stack(predictions_diff_minibatch_loop), atol=1e-3, rtol=1e-5)

    predictions2_vmap = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, minibatch)

    assert torch.allclose(predictions2_vmap, torch.stack(predictions2), atol=1e-3, rtol=1e-5)

    # Performance
    without_vmap = Timer(stmt="[model(minibatch) for model, minibatch in zip(models, minibatches)]",
                         globals={"models": models, "minibatches": minibatches})
    with_vmap = Timer(stmt="vmap(fmodel)(params, buffers, minibatches)",
                      globals={"vmap": vmap, "fmodel": fmodel, "params": params, "buffers": buffers,
                               "minibatches": minibatches})
    print(f'Predictions without vmap {without_vmap.timeit(args.timer_runs)}')
    print(f'Predictions with vmap {with_vmap.timeit(args.timer_runs)}')

    # Training the ensemble: the stacked weights are leaves; one optimizer steps all the models at once
    reference = [copy.deepcopy(model) for model in models]
    optimizer = torch.optim.Adam(params.values(), lr=args.lr)
    targets = targets.view(100, 64)
    losses = []
    for step in range(args.steps):
        batch = step % 4
        inputs, labels = data[batch * num_models:(batch + 1) * num_models], targets[batch * num_models:(batch + 1) * num_models]
        optimizer.zero_grad()
        logits = vmap(fmodel)(params, buffers, inputs)  # (num_models, 64, 10)
        per_model = vmap(F.cross_entropy)(logits, labels)
        per_model.sum().backward()
        optimizer.step()
        losses.append(per_model.mean().item())

    # The same steps, model by model
    optimizers = [torch.optim.Adam(model.parameters(), lr=args.lr) for model in reference]
    for step in range(args.steps):
        batch = step % 4
        for i, (model, optimizer) in enumerate(zip(reference, optimizers)):
            optimizer.zero_grad()
            F.cross_entropy(model(data[batch * num_models + i]), targets[batch * num_models + i]).backward()
            optimizer.step()
    for name, stacked in params.items():
        separate = torch.stack([dict(model.named_parameters())[name] for model in reference])
        assert torch.allclose(stacked, separate, atol=1e-4, rtol=1e-4), name
    return losses


if __name__ == "__main__":
    main()
