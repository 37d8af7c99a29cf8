"""Adversarial examples with the fast gradient sign method, after PyTorch's tutorial
beginner_source/fgsm_tutorial.py (Nathan Inkawhich): the MNIST ``Net`` loaded with ``torch.load`` in
``eval()`` mode, ``data.requires_grad = True``, ``data.grad.data`` and ``sign()``, ``torch.clamp``, the
``denorm`` / ``transforms.Normalize`` round trip, and the accuracy under each epsilon.

The tutorial downloads a pretrained LeNet; here the same network trains for a few steps on synthetic digits
(bars, boxes and crosses drawn as PIL images) and is saved with ``torch.save`` first. The test watches that
training loss fall; the program checks that the attack lowers the accuracy.
"""

# ruff: noqa  (the code keeps the tutorial's style: torch.nn as nn, print(f'...'))

import argparse
import os
from tempfile import TemporaryDirectory

import numpy as np
from PIL import Image

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torchvision import datasets, transforms


class SyntheticDigits(torch.utils.data.Dataset):
    """28x28 grey PIL images of ten shapes (bars, boxes, crosses at set places), MNIST's (image, label)."""

    def __init__(self, n, seed, transform=None):
        rng = np.random.default_rng(seed)
        self.labels = rng.integers(0, 10, n)
        self.images = []
        for label in self.labels:
            image = rng.integers(0, 40, (28, 28)).astype(np.uint8)
            r, c = 4 + 2 * (label % 5), 4 + 8 * (label // 5)
            if label % 3 == 0:
                image[r:r + 12, c:c + 4] = 255
            elif label % 3 == 1:
                image[r:r + 4, c:c + 12] = 255
            else:
                image[r:r + 12, c + 4:c + 7] = 255
                image[r + 4:r + 7, c:c + 12] = 255
            self.images.append(Image.fromarray(image, mode='L'))
        self.transform = transform

    def __getitem__(self, index):
        image = self.images[index]
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[index])

    def __len__(self):
        return len(self.images)


# LeNet Model definition
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
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
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


# FGSM attack code
def fgsm_attack(image, epsilon, data_grad):
    # Collect the element-wise sign of the data gradient
    sign_data_grad = data_grad.sign()
    # Create the perturbed image by adjusting each pixel of the input image
    perturbed_image = image + epsilon*sign_data_grad
    # Adding clipping to maintain [0,1] range
    perturbed_image = torch.clamp(perturbed_image, 0, 1)
    # Return the perturbed image
    return perturbed_image


# restores the tensors to their original scale
def denorm(batch, device, mean=[0.1307], std=[0.3081]):
    """
    Convert a batch of tensors to their original scale.

    Args:
        batch (torch.Tensor): Batch of normalized tensors.
        mean (torch.Tensor or list): Mean used for normalization.
        std (torch.Tensor or list): Standard deviation used for normalization.

    Returns:
        torch.Tensor: batch of tensors without normalization applied to them.
    """
    if isinstance(mean, list):
        mean = torch.tensor(mean).to(device)
    if isinstance(std, list):
        std = torch.tensor(std).to(device)

    return batch * std.view(1, -1, 1, 1) + mean.view(1, -1, 1, 1)


def test(model, device, test_loader, epsilon):

    # Accuracy counter
    correct = 0
    adv_examples = []

    # Loop over all examples in test set
    for data, target in test_loader:

        # Send the data and label to the device
        data, target = data.to(device), target.to(device)

        # Set requires_grad attribute of tensor. Important for Attack
        data.requires_grad = True

        # Forward pass the data through the model
        output = model(data)
        init_pred = output.max(1, keepdim=True)[1] # get the index of the max log-probability

        # If the initial prediction is wrong, don't bother attacking, just move on
        if init_pred.item() != target.item():
            continue

        # Calculate the loss
        loss = F.nll_loss(output, target)

        # Zero all existing gradients
        model.zero_grad()

        # Calculate gradients of model in backward pass
        loss.backward()

        # Collect ``datagrad``
        data_grad = data.grad.data

        # Restore the data to its original scale
        data_denorm = denorm(data, device)

        # Call FGSM Attack
        perturbed_data = fgsm_attack(data_denorm, epsilon, data_grad)

        # Reapply normalization
        perturbed_data_normalized = transforms.Normalize((0.1307,), (0.3081,))(perturbed_data)

        # Re-classify the perturbed image
        output = model(perturbed_data_normalized)

        # Check for success
        final_pred = output.max(1, keepdim=True)[1] # get the index of the max log-probability
        if final_pred.item() == target.item():
            correct += 1
            # Special case for saving 0 epsilon examples
            if epsilon == 0 and len(adv_examples) < 5:
                adv_ex = perturbed_data.squeeze().detach().cpu().numpy()
                adv_examples.append( (init_pred.item(), final_pred.item(), adv_ex) )
        else:
            # Save some adv examples for visualization later
            if len(adv_examples) < 5:
                adv_ex = perturbed_data.squeeze().detach().cpu().numpy()
                adv_examples.append( (init_pred.item(), final_pred.item(), adv_ex) )

    # Calculate final accuracy for this epsilon
    final_acc = correct/float(len(test_loader))
    print(f"Epsilon: {epsilon}\tTest Accuracy = {correct} / {len(test_loader)} = {final_acc}")

    # Return the accuracy and an adversarial example
    return final_acc, adv_examples


def main(argv=None):
    parser = argparse.ArgumentParser(description='PyTorch FGSM tutorial')
    parser.add_argument('--train-size', type=int, default=256)
    parser.add_argument('--test-size', type=int, default=24)
    parser.add_argument('--epochs', type=int, default=2)
    parser.add_argument('--seed', type=int, default=1)
    args = parser.parse_args(argv)

    epsilons = [0, .05, .1, .15, .2, .25, .3]
    # Set random seed for reproducibility
    torch.manual_seed(args.seed)

    transform = transforms.Compose([
        transforms.ToTensor(),
        transforms.Normalize((0.1307,), (0.3081,)),
    ])
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print("CUDA Available: ", torch.cuda.is_available())

    # The pretrained model: a few Adadelta steps of pytorch/examples' mnist/main.py, saved as its state dict
    train_loader = torch.utils.data.DataLoader(SyntheticDigits(args.train_size, args.seed, transform),
                                               batch_size=32, shuffle=True)
    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    losses = []
    model.train()
    for epoch in range(args.epochs):
        for data, target in train_loader:
            optimizer.zero_grad()
            loss = F.nll_loss(model(data), target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())

    with TemporaryDirectory() as tempdir:
        pretrained_model = os.path.join(tempdir, "lenet_mnist_model.pth")
        torch.save(model.state_dict(), pretrained_model)

        # MNIST Test dataset and dataloader declaration
        test_loader = torch.utils.data.DataLoader(
            SyntheticDigits(args.test_size, args.seed + 1, transform),
            batch_size=1, shuffle=True)

        # Initialize the network
        model = Net().to(device)

        # Load the pretrained model
        model.load_state_dict(torch.load(pretrained_model, map_location=device, weights_only=True))

    # Set the model in evaluation mode. In this case this is for the Dropout layers
    model.eval()

    accuracies = []
    examples = []

    # Run test for each epsilon
    for eps in epsilons:
        acc, ex = test(model, device, test_loader, eps)
        accuracies.append(acc)
        examples.append(ex)
    assert accuracies[0] > 0.5, accuracies  # the trained model reads the clean digits
    assert accuracies[-1] < accuracies[0], accuracies  # and the attack fools it
    assert all(ex[2].shape == (28, 28) for exs in examples for ex in exs)
    return losses


if __name__ == "__main__":
    main()
