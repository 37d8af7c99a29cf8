"""Transfer learning, after PyTorch's tutorial beginner_source/transfer_learning_tutorial.py (Sasank
Chilamkurthy): an ``ImageFolder`` of ants and bees, ``RandomResizedCrop`` / ``RandomHorizontalFlip`` /
``ToTensor`` / ``Normalize``, a ResNet-18 whose ``fc`` is replaced, first fine-tuned whole, then frozen as a
fixed feature extractor, with ``StepLR``, the best weights kept by ``copy.deepcopy(model.state_dict())``
and ``torch.save`` / ``torch.load`` of the state dict.

Small generated JPEG and PNG images in a temporary folder stand in for the hymenoptera download (reddish
"ants" with a dark horizontal band, bluish "bees" with vertical stripes), the images are 48 pixels instead of
256, and ``weights=None`` stands in for ``'IMAGENET1K_V1'`` (no download in a test).
"""

# ruff: noqa  (the code keeps the tutorial's style: print(f'...'), torch.nn as nn)

import argparse
import copy
import os
import time
from tempfile import TemporaryDirectory

import numpy as np
from PIL import Image

import torch
import torch.nn as nn
import torch.optim as optim
from torch.optim import lr_scheduler
import torch.backends.cudnn as cudnn
import torchvision
from torchvision import datasets, models, transforms

cudnn.benchmark = True


def make_hymenoptera(root, n_per_class, size, seed):
    """root/{train,val}/{ants,bees}/*.jpg|png: noisy images a small CNN can tell apart by colour and texture."""
    rng = np.random.default_rng(seed)
    for phase, n in (('train', n_per_class), ('val', max(2, n_per_class // 2))):
        for label, name in enumerate(['ants', 'bees']):
            folder = os.path.join(root, phase, name)
            os.makedirs(folder, exist_ok=True)
            for i in range(n):
                image = rng.integers(0, 80, (size, size, 3)).astype(np.int16)
                if name == 'ants':
                    image[..., 0] += 150
                    r = int(rng.integers(size // 4, size // 2))
                    image[r:r + size // 6] //= 3
                else:
                    image[..., 2] += 150
                    image[:, ::6] //= 3
                image = Image.fromarray(image.clip(0, 255).astype(np.uint8))
                ext = 'jpg' if i % 2 == 0 else 'png'
                image.save(os.path.join(folder, f'{name}_{i}.{ext}'))


def train_model(model, criterion, optimizer, scheduler, dataloaders, dataset_sizes, device, losses,
                num_epochs=25):
    since = time.time()

    best_model_wts = copy.deepcopy(model.state_dict())
    best_acc = 0.0

    for epoch in range(num_epochs):
        print(f'Epoch {epoch}/{num_epochs - 1}')
        print('-' * 10)

        # Each epoch has a training and validation phase
        for phase in ['train', 'val']:
            if phase == 'train':
                model.train()  # Set model to training mode
            else:
                model.eval()   # Set model to evaluate mode

            running_loss = 0.0
            running_corrects = 0

            # Iterate over data.
            for inputs, labels in dataloaders[phase]:
                inputs = inputs.to(device)
                labels = labels.to(device)

                # zero the parameter gradients
                optimizer.zero_grad()

                # forward
                # track history if only in train
                with torch.set_grad_enabled(phase == 'train'):
                    outputs = model(inputs)
                    _, preds = torch.max(outputs, 1)
                    loss = criterion(outputs, labels)

                    # backward + optimize only if in training phase
                    if phase == 'train':
                        loss.backward()
                        optimizer.step()

                # statistics
                running_loss += loss.item() * inputs.size(0)
                running_corrects += torch.sum(preds == labels.data)
            if phase == 'train':
                scheduler.step()

            epoch_loss = running_loss / dataset_sizes[phase]
            epoch_acc = running_corrects.double() / dataset_sizes[phase]
            if phase == 'train':
                losses.append(epoch_loss)

            print(f'{phase} Loss: {epoch_loss:.4f} Acc: {epoch_acc:.4f}')

            # deep copy the model
            if phase == 'val' and epoch_acc > best_acc:
                best_acc = epoch_acc
                best_model_wts = copy.deepcopy(model.state_dict())

        print()

    time_elapsed = time.time() - since
    print(f'Training complete in {time_elapsed // 60:.0f}m {time_elapsed % 60:.0f}s')
    print(f'Best val Acc: {best_acc:4f}')

    # load best model weights
    model.load_state_dict(best_model_wts)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description='PyTorch transfer learning tutorial')
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--images-per-class', type=int, default=8)
    parser.add_argument('--image-size', type=int, default=48)
    parser.add_argument('--crop-size', type=int, default=32)
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)

    # Data augmentation and normalization for training
    # Just normalization for validation
    data_transforms = {
        'train': transforms.Compose([
            transforms.RandomResizedCrop(args.crop_size),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
        ]),
        'val': transforms.Compose([
            transforms.Resize(args.image_size),
            transforms.CenterCrop(args.crop_size),
            transforms.ToTensor(),
            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
        ]),
    }

    losses = []
    with TemporaryDirectory() as data_dir:
        make_hymenoptera(data_dir, args.images_per_class, args.image_size, args.seed)
        image_datasets = {x: datasets.ImageFolder(os.path.join(data_dir, x),
                                                  data_transforms[x])
                          for x in ['train', 'val']}
        dataloaders = {x: torch.utils.data.DataLoader(image_datasets[x], batch_size=args.batch_size,
                                                      shuffle=True, num_workers=args.workers)
                       for x in ['train', 'val']}
        dataset_sizes = {x: len(image_datasets[x]) for x in ['train', 'val']}
        class_names = image_datasets['train'].classes
        assert class_names == ['ants', 'bees'], class_names

        device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")

        # Get a batch of training data
        inputs, classes = next(iter(dataloaders['train']))
        # Make a grid from batch
        out = torchvision.utils.make_grid(inputs)
        print(out.shape, [class_names[x] for x in classes])

        # Finetuning the ConvNet
        model_ft = models.resnet18(weights=None)
        num_ftrs = model_ft.fc.in_features
        # Here the size of each output sample is set to 2.
        # Alternatively, it can be generalized to ``nn.Linear(num_ftrs, len(class_names))``.
        model_ft.fc = nn.Linear(num_ftrs, 2)

        model_ft = model_ft.to(device)

        criterion = nn.CrossEntropyLoss()

        # Observe that all parameters are being optimized
        optimizer_ft = optim.SGD(model_ft.parameters(), lr=0.001, momentum=0.9)

        # Decay LR by a factor of 0.1 every 7 epochs
        exp_lr_scheduler = lr_scheduler.StepLR(optimizer_ft, step_size=7, gamma=0.1)

        model_ft = train_model(model_ft, criterion, optimizer_ft, exp_lr_scheduler, dataloaders, dataset_sizes,
                               device, losses, num_epochs=args.epochs)

        # ConvNet as fixed feature extractor
        model_conv = torchvision.models.resnet18(weights=None)
        for param in model_conv.parameters():
            param.requires_grad = False

        # Parameters of newly constructed modules have requires_grad=True by default
        num_ftrs = model_conv.fc.in_features
        model_conv.fc = nn.Linear(num_ftrs, 2)

        model_conv = model_conv.to(device)

        criterion = nn.CrossEntropyLoss()

        # Observe that only parameters of final layer are being optimized as
        # opposed to before.
        optimizer_conv = optim.SGD(model_conv.fc.parameters(), lr=0.001, momentum=0.9)

        # Decay LR by a factor of 0.1 every 7 epochs
        exp_lr_scheduler = lr_scheduler.StepLR(optimizer_conv, step_size=7, gamma=0.1)

        frozen = copy.deepcopy(model_conv.layer1.state_dict())
        conv_losses = []
        model_conv = train_model(model_conv, criterion, optimizer_conv, exp_lr_scheduler, dataloaders,
                                 dataset_sizes, device, conv_losses, num_epochs=args.epochs)
        for key, value in model_conv.layer1.state_dict().items():
            if not key.endswith('running_mean') and not key.endswith('running_var') \
                    and not key.endswith('num_batches_tracked'):
                assert torch.equal(value, frozen[key]), key  # the frozen backbone did not move
        assert all(p.grad is None for p in model_conv.layer1.parameters())

        # Saving and loading the fine-tuned weights, as the tutorial's newer revision does
        with TemporaryDirectory() as tempdir:
            best_model_params_path = os.path.join(tempdir, 'best_model_params.pt')
            torch.save(model_ft.state_dict(), best_model_params_path)
            model = models.resnet18(weights=None)
            model.fc = nn.Linear(num_ftrs, 2)
            model.load_state_dict(torch.load(best_model_params_path, weights_only=True))
        model.eval()
        model_ft.eval()
        with torch.no_grad():
            inputs, labels = next(iter(dataloaders['val']))
            assert torch.allclose(model(inputs), model_ft(inputs))
            _, preds = torch.max(model(inputs), 1)
            print('predicted:', [class_names[x] for x in preds], 'true:', [class_names[x] for x in labels])
    return losses


if __name__ == "__main__":
    main()
