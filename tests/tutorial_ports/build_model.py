"""Build the Neural Network, after PyTorch's tutorial beginner_source/basics/buildmodel_tutorial.py ("Learn
the Basics"): the ``NeuralNetwork`` moved to the accelerator if there is one, ``nn.Softmax(dim=1)`` on its
logits, ``nn.Flatten`` / ``nn.Linear`` / ``nn.ReLU`` / ``nn.Sequential`` taken one at a time, and the
parameters listed with ``model.named_parameters()``.

``main`` returns the sizes of the layers' outputs and of the parameters it printed.
"""

# ruff: noqa  (the code keeps the tutorial's style)

import os
import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms


device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28*28, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


def main(argv=None):
    torch.manual_seed(0)
    print(f"Using {device} device")
    model = NeuralNetwork().to(device)
    print(model)

    X = torch.rand(1, 28, 28, device=device)
    logits = model(X)
    pred_probab = nn.Softmax(dim=1)(logits)
    y_pred = pred_probab.argmax(1)
    print(f"Predicted class: {y_pred}")
    assert abs(pred_probab.sum().item() - 1) < 1e-5 and tuple(y_pred.shape) == (1,)

    # Model Layers
    input_image = torch.rand(3,28,28)
    print(input_image.size())

    flatten = nn.Flatten()
    flat_image = flatten(input_image)
    print(flat_image.size())

    layer1 = nn.Linear(in_features=28*28, out_features=20)
    hidden1 = layer1(flat_image)
    print(hidden1.size())

    print(f"Before ReLU: {hidden1}\n\n")
    hidden1 = nn.ReLU()(hidden1)
    print(f"After ReLU: {hidden1}")
    assert hidden1.min().item() >= 0

    seq_modules = nn.Sequential(
        flatten,
        layer1,
        nn.ReLU(),
        nn.Linear(20, 10)
    )
    input_image = torch.rand(3,28,28)
    logits = seq_modules(input_image)

    softmax = nn.Softmax(dim=1)
    pred_probab = softmax(logits)
    assert torch.allclose(pred_probab.sum(1), torch.ones(3))

    # Model Parameters
    print(f"Model structure: {model}\n\n")

    sizes = [list(flat_image.size()), list(hidden1.size()), list(logits.size())]
    for name, param in model.named_parameters():
        print(f"Layer: {name} | Size: {param.size()} | Values : {param[:2]} \n")
        sizes.append([name, list(param.size())])
    assert [s[0] for s in sizes[3:]] == [
        "linear_relu_stack.0.weight", "linear_relu_stack.0.bias", "linear_relu_stack.2.weight",
        "linear_relu_stack.2.bias", "linear_relu_stack.4.weight", "linear_relu_stack.4.bias"]
    return sizes


if __name__ == "__main__":
    main()
