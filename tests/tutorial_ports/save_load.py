"""Save and Load the Model, after PyTorch's tutorial beginner_source/basics/saveloadrun_tutorial.py ("Learn
the Basics"): a torchvision model built with ``weights='IMAGENET1K_V1'`` (downloaded through the hub),
``torch.save(model.state_dict(), 'model_weights.pth')``, a model built without weights and
``load_state_dict(torch.load('model_weights.pth', weights_only=True))``, ``model.eval()``, then the whole
model saved with ``torch.save(model, 'model.pth')`` and read back with ``torch.load('model.pth',
weights_only=False)``.

The tutorial's VGG-16 (528 MB) is SqueezeNet 1.1 here, with the same ``weights=`` call form; the test
serves its weights (a random model's) from a local server. ``main`` returns the loaded model's outputs on
one small image.
"""

# ruff: noqa  (the code keeps the tutorial's style)

import torch
import torchvision.models as models


def main(argv=None):
    torch.manual_seed(0)
    image = torch.rand(1, 3, 64, 64)

    # Saving and Loading Model Weights
    model = models.squeezenet1_1(weights='IMAGENET1K_V1')
    torch.save(model.state_dict(), 'model_weights.pth')
    with torch.no_grad():
        expected = model.eval()(image)

    model = models.squeezenet1_1() # we do not specify ``weights``, i.e. create untrained model
    model.load_state_dict(torch.load('model_weights.pth', weights_only=True))
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(image), expected)

    # Saving and Loading Models
    torch.save(model, 'model.pth')

    model = torch.load('model.pth', weights_only=False)
    with torch.no_grad():
        output = model(image)
    assert torch.equal(output, expected)
    return output.flatten().tolist()


if __name__ == "__main__":
    main()
