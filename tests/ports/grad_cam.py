"""Grad-CAM (Selvaraju et al., 2017) with module hooks, in the style of the widely used PyTorch
implementations (pytorch-grad-cam's ActivationsAndGradients, earlier revisions): a forward hook on the target
layer keeps its activations, a ``register_full_backward_hook`` keeps the gradient of its output, the channel
weights are the gradients' spatial means, and the ReLU of the weighted sum, upsampled with ``F.interpolate``
and scaled to [0, 1], is the class activation map.

A small CNN first trains a few steps on synthetic images (the colour of a square, placed left or right, is the
class); the test watches that loss, and the program checks that the map of the predicted class is brighter on
the side of the square.
"""

# ruff: noqa  (the code keeps the style of the implementations it follows)

import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F


class ActivationsAndGradients:
    """Class for extracting activations and
    registering gradients from targetted intermediate layers"""

    def __init__(self, model, target_layers):
        self.model = model
        self.gradients = []
        self.activations = []
        self.handles = []
        for target_layer in target_layers:
            self.handles.append(
                target_layer.register_forward_hook(self.save_activation))
            self.handles.append(
                target_layer.register_full_backward_hook(self.save_gradient))

    def save_activation(self, module, input, output):
        activation = output
        self.activations.append(activation.cpu().detach())

    def save_gradient(self, module, grad_input, grad_output):
        # Gradients are computed in reverse order
        grad = grad_output[0]
        self.gradients = [grad.cpu().detach()] + self.gradients

    def __call__(self, x):
        self.gradients = []
        self.activations = []
        return self.model(x)

    def release(self):
        for handle in self.handles:
            handle.remove()


class GradCAM:
    def __init__(self, model, target_layers):
        self.model = model.eval()
        self.target_layers = target_layers
        self.activations_and_grads = ActivationsAndGradients(self.model, target_layers)

    def get_cam_weights(self, grads):
        return torch.mean(grads, dim=(2, 3), keepdim=True)

    def __call__(self, input_tensor, targets=None):
        input_tensor = input_tensor.requires_grad_(True)
        outputs = self.activations_and_grads(input_tensor)
        if targets is None:
            targets = outputs.argmax(dim=1)
        self.model.zero_grad()
        loss = outputs.gather(1, targets.view(-1, 1)).sum()
        loss.backward(retain_graph=True)

        activations = self.activations_and_grads.activations[-1]
        grads = self.activations_and_grads.gradients[-1]
        weights = self.get_cam_weights(grads)
        cam = F.relu((weights * activations).sum(dim=1, keepdim=True))
        cam = F.interpolate(cam, size=input_tensor.shape[-2:], mode='bilinear', align_corners=False)
        cam = cam - cam.amin(dim=(2, 3), keepdim=True)
        cam = cam / (cam.amax(dim=(2, 3), keepdim=True) + 1e-7)
        return cam[:, 0], targets

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, exc_tb):
        self.activations_and_grads.release()


def squares(n, generator):
    """Noise images with a red (class 0) or blue (class 1) square, in the left or the right half."""
    images = 0.2 * torch.rand(n, 3, 32, 32, generator=generator)
    labels = torch.randint(0, 2, (n,), generator=generator)
    sides = torch.randint(0, 2, (n,), generator=generator)
    rows = torch.randint(4, 20, (n,), generator=generator)
    for i in range(n):
        c, r = (4 if sides[i] == 0 else 20), int(rows[i])
        images[i, 0 if labels[i] == 0 else 2, r:r + 8, c:c + 8] = 1.0
    return images, labels, sides


def main(argv=None):
    parser = argparse.ArgumentParser(description='Grad-CAM with module hooks')
    parser.add_argument('--steps', type=int, default=30)
    args = parser.parse_args(argv)
    torch.manual_seed(0)

    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 2))
    images, labels, _ = squares(128, torch.Generator().manual_seed(0))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for step in range(args.steps):
        i = (step * 32) % len(images)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images[i:i + 32]), labels[i:i + 32])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())

    test_images, test_labels, sides = squares(8, torch.Generator().manual_seed(1))
    with GradCAM(model=model, target_layers=[model[5]]) as cam:
        grayscale_cam, predicted = cam(test_images.clone())
    assert grayscale_cam.shape == (8, 32, 32)
    assert len(model[5]._forward_hooks) == 0  # the handles were removed on exit
    left, right = grayscale_cam[:, :, :16].mean((1, 2)), grayscale_cam[:, :, 16:].mean((1, 2))
    on_square = torch.where(sides == 0, left > right, right > left)
    correct = predicted == test_labels
    print('accuracy {:.2f}, maps brighter on the square: {}/{}'.format(
        correct.float().mean().item(), int(on_square[correct].sum()), int(correct.sum())))
    assert on_square[correct].float().mean() >= 0.75
    return losses


if __name__ == "__main__":
    main()
