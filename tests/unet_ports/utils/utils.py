# (milesial/Pytorch-UNet's utils/utils.py, ported as it is written, but for where matplotlib is imported: in the
# function, since matplotlib is an optional extra of Ember's (`plot`) and predict.py imports this module.)
# ruff: noqa  (upstream's style)


def plot_img_and_mask(img, mask):
    import matplotlib.pyplot as plt

    classes = mask.max() + 1
    fig, ax = plt.subplots(1, classes + 1)
    ax[0].set_title('Input image')
    ax[0].imshow(img)
    for i in range(classes):
        ax[i + 1].set_title(f'Mask (class {i + 1})')
        ax[i + 1].imshow(mask == i)
    plt.xticks([]), plt.yticks([])
    plt.show()
