"""ConvNeXt trained the way timm's train.py trains it, with the pieces a paper's code copies from timm.

From huggingface/pytorch-image-models: timm/models/convnext.py (``ConvNeXtBlock``: depthwise 7x7
``Conv2d(groups=dim)``, channels-last ``LayerNorm`` on ``permute(0, 2, 3, 1)`` or ``LayerNorm2d`` with the
1x1-conv ``Mlp``, layer-scale ``gamma``, ``DropPath``; the patch stem, the norm + 2x2 conv downsample layers,
``NormMlpClassifierHead``, ``_init_weights`` with ``trunc_normal_`` through ``named_apply``, the
``@torch.jit.ignore`` methods, ``set_grad_checkpointing`` with _manipulate.py's ``checkpoint_seq`` behind
``torch.jit.is_scripting()``), timm/layers
(drop.py's ``drop_path``, mlp.py's ``Mlp``, norm.py, weight_init.py's ``trunc_normal_``), timm/data/mixup.py
(``Mixup`` with mixup and cutmix, per batch or per element, label-smoothed one-hot targets), timm/loss
(``SoftTargetCrossEntropy``, ``LabelSmoothingCrossEntropy``), timm/utils (``ModelEmaV2``, ``NativeScaler``,
``dispatch_clip_grad``, ``accuracy``, ``AverageMeter``), timm/scheduler (``CosineLRScheduler`` with warm-up,
stepped per epoch), timm/optim's ``param_groups_weight_decay`` for AdamW, and train.py's ``train_one_epoch`` /
``validate`` / checkpoint saving and ``--resume``.

What differs from timm: the data (a synthetic image set, 3x32x32, 10 classes, instead of
``create_dataset`` / ``create_loader``), the sizes, no registry / pretrained weights / distributed / logging
setup; the checkpoint stores ``vars(args)`` rather than the ``Namespace`` (so it loads with
``weights_only=True``) and the scheduler's ``state_dict()`` as well; ``train_one_epoch`` also returns each
step's loss. ``--amp`` runs the ``NativeScaler`` (a ``GradScaler`` on the CPU) in float32: no autocast.
"""

# ruff: noqa  (the code keeps timm's style)

import argparse
import math
import os
import shutil
from collections import OrderedDict
from contextlib import suppress
from copy import deepcopy
from functools import partial
from itertools import chain

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint
from torch.utils.data import DataLoader, Dataset


# -- timm/layers/weight_init.py ------------------------------------------------------------------------------

def _trunc_normal_(tensor, mean, std, a, b):
    # the inverse-CDF method: uniform in [cdf(a), cdf(b)] mapped through erfinv
    def norm_cdf(x):
        return (1. + math.erf(x / math.sqrt(2.))) / 2.

    l = norm_cdf((a - mean) / std)
    u = norm_cdf((b - mean) / std)
    tensor.uniform_(2 * l - 1, 2 * u - 1)
    tensor.erfinv_()
    tensor.mul_(std * math.sqrt(2.))
    tensor.add_(mean)
    tensor.clamp_(min=a, max=b)
    return tensor


def trunc_normal_(tensor, mean=0., std=1., a=-2., b=2.):
    with torch.no_grad():
        return _trunc_normal_(tensor, mean, std, a, b)


# -- timm/layers/drop.py -------------------------------------------------------------------------------------

def drop_path(x, drop_prob: float = 0., training: bool = False, scale_by_keep: bool = True):
    """Stochastic depth per sample, on the main path of a residual block."""
    if drop_prob == 0. or not training:
        return x
    keep_prob = 1 - drop_prob
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)  # any rank, not only 2-D convnets
    random_tensor = x.new_empty(shape).bernoulli_(keep_prob)
    if keep_prob > 0.0 and scale_by_keep:
        random_tensor.div_(keep_prob)
    return x * random_tensor


class DropPath(nn.Module):
    def __init__(self, drop_prob: float = 0., scale_by_keep: bool = True):
        super(DropPath, self).__init__()
        self.drop_prob = drop_prob
        self.scale_by_keep = scale_by_keep

    def forward(self, x):
        return drop_path(x, self.drop_prob, self.training, self.scale_by_keep)

    def extra_repr(self):
        return f'drop_prob={round(self.drop_prob, 3):0.3f}'


# -- timm/layers/helpers.py, padding.py, create_conv2d.py ----------------------------------------------------

def to_2tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x, x)


def get_padding(kernel_size: int, stride: int = 1, dilation: int = 1) -> int:
    return ((stride - 1) + dilation * (kernel_size - 1)) // 2


def create_conv2d(in_channels, out_channels, kernel_size, stride=1, dilation=1, depthwise=False, bias=True,
                  padding=''):
    groups = in_channels if depthwise else 1
    if padding == '':
        padding = get_padding(kernel_size, stride, dilation)
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, dilation=dilation,
                     groups=groups, bias=bias)


# -- timm/layers/mlp.py --------------------------------------------------------------------------------------

class Mlp(nn.Module):
    """MLP as used in Vision Transformer, MLP-Mixer and related networks (1x1 convs with ``use_conv``)."""

    def __init__(self, in_features, hidden_features=None, out_features=None, act_layer=nn.GELU, norm_layer=None,
                 bias=True, drop=0., use_conv=False):
        super().__init__()
        out_features = out_features or in_features
        hidden_features = hidden_features or in_features
        bias = to_2tuple(bias)
        drop_probs = to_2tuple(drop)
        linear_layer = partial(nn.Conv2d, kernel_size=1) if use_conv else nn.Linear

        self.fc1 = linear_layer(in_features, hidden_features, bias=bias[0])
        self.act = act_layer()
        self.drop1 = nn.Dropout(drop_probs[0])
        self.norm = norm_layer(hidden_features) if norm_layer is not None else nn.Identity()
        self.fc2 = linear_layer(hidden_features, out_features, bias=bias[1])
        self.drop2 = nn.Dropout(drop_probs[1])

    def forward(self, x):
        x = self.fc1(x)
        x = self.act(x)
        x = self.drop1(x)
        x = self.norm(x)
        x = self.fc2(x)
        x = self.drop2(x)
        return x


# -- timm/layers/norm.py -------------------------------------------------------------------------------------

class LayerNorm(nn.LayerNorm):
    """LayerNorm over the last dimension (channels-last tensors)."""

    def __init__(self, num_channels, eps=1e-6, affine=True):
        super().__init__(num_channels, eps=eps, elementwise_affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of NCHW tensors."""

    def __init__(self, num_channels, eps=1e-6, affine=True):
        super().__init__(num_channels, eps=eps, elementwise_affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        x = x.permute(0, 3, 1, 2)
        return x


# -- timm/layers/classifier.py -------------------------------------------------------------------------------

class NormMlpClassifierHead(nn.Module):
    """Pool -> norm -> (MLP) -> classifier, for NCHW features."""

    def __init__(self, in_features, num_classes, hidden_size=None, pool_type='avg', drop_rate=0.,
                 norm_layer=LayerNorm2d, act_layer=nn.Tanh):
        super().__init__()
        self.in_features = in_features
        self.hidden_size = hidden_size
        self.num_features = in_features
        self.global_pool = nn.AdaptiveAvgPool2d(1)  # (SelectAdaptivePool2d('avg', flatten=False))
        self.norm = norm_layer(in_features)
        self.flatten = nn.Flatten(1) if pool_type else nn.Identity()
        if hidden_size:
            self.pre_logits = nn.Sequential(OrderedDict([
                ('fc', nn.Linear(in_features, hidden_size)),
                ('act', act_layer()),
            ]))
            self.num_features = hidden_size
        else:
            self.pre_logits = nn.Identity()
        self.drop = nn.Dropout(drop_rate)
        self.fc = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()

    def forward(self, x, pre_logits: bool = False):
        x = self.global_pool(x)
        x = self.norm(x)
        x = self.flatten(x)
        x = self.pre_logits(x)
        x = self.drop(x)
        if pre_logits:
            return x
        x = self.fc(x)
        return x


# -- timm/models/_manipulate.py ------------------------------------------------------------------------------

def named_apply(fn, module, name='', depth_first=True, include_root=False):
    if not depth_first and include_root:
        fn(module=module, name=name)
    for child_name, child_module in module.named_children():
        child_name = '.'.join((name, child_name)) if name else child_name
        named_apply(fn=fn, module=child_module, name=child_name, depth_first=depth_first, include_root=True)
    if depth_first and include_root:
        fn(module=module, name=name)
    return module


def checkpoint_seq(functions, x, every=1, flatten=False, skip_last=False, preserve_rng_state=True):
    """Activation checkpointing over a sequence of modules: each chunk of ``every`` modules is recomputed in
    the backward pass instead of keeping its activations."""
    def run_function(start, end, functions):
        def forward(_x):
            for j in range(start, end + 1):
                _x = functions[j](_x)
            return _x
        return forward

    if isinstance(functions, torch.nn.Sequential):
        functions = functions.children()
    if flatten:
        functions = chain.from_iterable(functions)
    if not isinstance(functions, (tuple, list)):
        functions = tuple(functions)

    num_checkpointed = len(functions)
    if skip_last:
        num_checkpointed -= 1
    end = -1
    for start in range(0, num_checkpointed, every):
        end = min(start + every - 1, num_checkpointed - 1)
        x = checkpoint(run_function(start, end, functions), x, use_reentrant=False,
                       preserve_rng_state=preserve_rng_state)
    if skip_last:
        return run_function(end + 1, len(functions) - 1, functions)(x)
    return x


# -- timm/models/convnext.py ---------------------------------------------------------------------------------

class ConvNeXtBlock(nn.Module):
    """DwConv -> LayerNorm -> Linear (or 1x1 conv) -> GELU -> Linear, layer scale, drop path, residual.

    ``conv_mlp=False``: permute to NHWC for the norm and the MLP, then back; ``conv_mlp=True``: all in NCHW.
    """

    def __init__(self, in_chs, out_chs=None, kernel_size=7, stride=1, dilation=(1, 1), mlp_ratio=4,
                 conv_mlp=False, conv_bias=True, ls_init_value=1e-6, act_layer=nn.GELU, norm_layer=None,
                 drop_path=0.):
        super().__init__()
        out_chs = out_chs or in_chs
        dilation = to_2tuple(dilation)
        if not norm_layer:
            norm_layer = LayerNorm2d if conv_mlp else LayerNorm
        mlp_layer = partial(Mlp, use_conv=conv_mlp)
        self.use_conv_mlp = conv_mlp
        self.conv_dw = create_conv2d(in_chs, out_chs, kernel_size=kernel_size, stride=stride,
                                     dilation=dilation[0], depthwise=True, bias=conv_bias)
        self.norm = norm_layer(out_chs)
        self.mlp = mlp_layer(out_chs, int(mlp_ratio * out_chs), act_layer=act_layer)
        self.gamma = nn.Parameter(ls_init_value * torch.ones(out_chs)) if ls_init_value is not None else None
        self.shortcut = nn.Identity()  # (timm's Downsample when in_chs != out_chs or stride > 1: not used here)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()

    def forward(self, x):
        shortcut = x
        x = self.conv_dw(x)
        if self.use_conv_mlp:
            x = self.norm(x)
            x = self.mlp(x)
        else:
            x = x.permute(0, 2, 3, 1)
            x = self.norm(x)
            x = self.mlp(x)
            x = x.permute(0, 3, 1, 2)
        if self.gamma is not None:
            x = x.mul(self.gamma.reshape(1, -1, 1, 1))

        x = self.drop_path(x) + self.shortcut(shortcut)
        return x


class ConvNeXtStage(nn.Module):
    def __init__(self, in_chs, out_chs, kernel_size=7, stride=2, depth=2, dilation=(1, 1), drop_path_rates=None,
                 ls_init_value=1.0, conv_mlp=False, conv_bias=True, act_layer=nn.GELU, norm_layer=None,
                 norm_layer_cl=None):
        super().__init__()
        self.grad_checkpointing = False

        if in_chs != out_chs or stride > 1 or dilation[0] != dilation[1]:
            ds_ks = 2 if stride > 1 or dilation[0] != dilation[1] else 1
            pad = 'same' if dilation[1] > 1 else 0
            self.downsample = nn.Sequential(
                norm_layer(in_chs),
                create_conv2d(in_chs, out_chs, kernel_size=ds_ks, stride=stride, dilation=dilation[0],
                              padding=pad, bias=conv_bias),
            )
            in_chs = out_chs
        else:
            self.downsample = nn.Identity()

        drop_path_rates = drop_path_rates or [0.] * depth
        stage_blocks = []
        for i in range(depth):
            stage_blocks.append(ConvNeXtBlock(
                in_chs=in_chs,
                out_chs=out_chs,
                kernel_size=kernel_size,
                dilation=dilation[1],
                drop_path=drop_path_rates[i],
                ls_init_value=ls_init_value,
                conv_mlp=conv_mlp,
                conv_bias=conv_bias,
                act_layer=act_layer,
                norm_layer=norm_layer if conv_mlp else norm_layer_cl,
            ))
            in_chs = out_chs
        self.blocks = nn.Sequential(*stage_blocks)

    def forward(self, x):
        x = self.downsample(x)
        if self.grad_checkpointing and not torch.jit.is_scripting():
            x = checkpoint_seq(self.blocks, x)
        else:
            x = self.blocks(x)
        return x


class ConvNeXt(nn.Module):
    """A PyTorch impl of: `A ConvNet for the 2020s` - https://arxiv.org/pdf/2201.03545.pdf"""

    def __init__(self, in_chans=3, num_classes=1000, global_pool='avg', depths=(3, 3, 9, 3),
                 dims=(96, 192, 384, 768), kernel_sizes=7, ls_init_value=1e-6, patch_size=4, head_init_scale=1.,
                 head_hidden_size=None, conv_mlp=False, conv_bias=True, drop_rate=0., drop_path_rate=0.):
        super().__init__()
        kernel_sizes = (kernel_sizes,) * 4 if isinstance(kernel_sizes, int) else kernel_sizes
        norm_layer = LayerNorm2d
        norm_layer_cl = norm_layer if conv_mlp else LayerNorm
        act_layer = nn.GELU

        self.num_classes = num_classes
        self.drop_rate = drop_rate

        # the 'patch' stem: a minimal ViT PatchEmbed, as Swin's with patch_size = 4
        self.stem = nn.Sequential(
            nn.Conv2d(in_chans, dims[0], kernel_size=patch_size, stride=patch_size, bias=conv_bias),
            norm_layer(dims[0]),
        )
        stem_stride = patch_size

        dp_rates = [x.tolist() for x in torch.linspace(0, drop_path_rate, sum(depths)).split(depths)]
        stages = []
        prev_chs = dims[0]
        curr_stride = stem_stride
        # 4 feature resolution stages, each consisting of multiple residual blocks
        for i in range(4):
            stride = 2 if curr_stride == 2 or i > 0 else 1
            curr_stride *= stride
            out_chs = dims[i]
            stages.append(ConvNeXtStage(
                prev_chs,
                out_chs,
                kernel_size=kernel_sizes[i],
                stride=stride,
                dilation=(1, 1),
                depth=depths[i],
                drop_path_rates=dp_rates[i],
                ls_init_value=ls_init_value,
                conv_mlp=conv_mlp,
                conv_bias=conv_bias,
                act_layer=act_layer,
                norm_layer=norm_layer,
                norm_layer_cl=norm_layer_cl,
            ))
            prev_chs = out_chs
        self.stages = nn.Sequential(*stages)
        self.num_features = prev_chs

        # pool -> norm -> fc, the default ConvNeXt ordering
        self.norm_pre = nn.Identity()
        self.head = NormMlpClassifierHead(
            self.num_features,
            num_classes,
            hidden_size=head_hidden_size,
            pool_type=global_pool,
            drop_rate=self.drop_rate,
            norm_layer=norm_layer,
            act_layer=nn.GELU,
        )
        named_apply(partial(_init_weights, head_init_scale=head_init_scale), self)

    @torch.jit.ignore
    def group_matcher(self, coarse=False):
        return dict(
            stem=r'^stem',
            blocks=r'^stages\.(\d+)' if coarse else [
                (r'^stages\.(\d+)\.downsample', (0,)),  # blocks
                (r'^stages\.(\d+)\.blocks\.(\d+)', None),
                (r'^norm_pre', (99999,))
            ]
        )

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable=True):
        for s in self.stages:
            s.grad_checkpointing = enable

    @torch.jit.ignore
    def get_classifier(self):
        return self.head.fc

    def forward_features(self, x):
        x = self.stem(x)
        x = self.stages(x)
        x = self.norm_pre(x)
        return x

    def forward_head(self, x, pre_logits: bool = False):
        return self.head(x, pre_logits=True) if pre_logits else self.head(x)

    def forward(self, x):
        x = self.forward_features(x)
        x = self.forward_head(x)
        return x


def _init_weights(module, name=None, head_init_scale=1.0):
    if isinstance(module, nn.Conv2d):
        trunc_normal_(module.weight, std=.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Linear):
        trunc_normal_(module.weight, std=.02)
        nn.init.zeros_(module.bias)
        if name and 'head.' in name:
            module.weight.data.mul_(head_init_scale)
            module.bias.data.mul_(head_init_scale)


def convnext_atto(**kwargs):
    # timm's convnext_atto: dims 40-320, depths 2-2-6-2, conv_mlp
    return ConvNeXt(**dict(dict(depths=(2, 2, 6, 2), dims=(40, 80, 160, 320), conv_mlp=True), **kwargs))


# -- timm/data/mixup.py --------------------------------------------------------------------------------------

def one_hot(x, num_classes, on_value=1., off_value=0., device='cpu'):
    x = x.long().view(-1, 1)
    return torch.full((x.size()[0], num_classes), off_value, device=device).scatter_(1, x, on_value)


def mixup_target(target, num_classes, lam=1., smoothing=0.0, device='cpu'):
    off_value = smoothing / num_classes
    on_value = 1. - smoothing + off_value
    y1 = one_hot(target, num_classes, on_value=on_value, off_value=off_value, device=device)
    y2 = one_hot(target.flip(0), num_classes, on_value=on_value, off_value=off_value, device=device)
    return y1 * lam + y2 * (1. - lam)


def rand_bbox(img_shape, lam, margin=0., count=None):
    """A square CutMix box of area (1 - lam), its centre uniform over the image."""
    ratio = np.sqrt(1 - lam)
    img_h, img_w = img_shape[-2:]
    cut_h, cut_w = int(img_h * ratio), int(img_w * ratio)
    margin_y, margin_x = int(margin * cut_h), int(margin * cut_w)
    cy = np.random.randint(0 + margin_y, img_h - margin_y, size=count)
    cx = np.random.randint(0 + margin_x, img_w - margin_x, size=count)
    yl = np.clip(cy - cut_h // 2, 0, img_h)
    yh = np.clip(cy + cut_h // 2, 0, img_h)
    xl = np.clip(cx - cut_w // 2, 0, img_w)
    xh = np.clip(cx + cut_w // 2, 0, img_w)
    return yl, yh, xl, xh


def cutmix_bbox_and_lam(img_shape, lam, ratio_minmax=None, correct_lam=True, count=None):
    yl, yu, xl, xu = rand_bbox(img_shape, lam, count=count)
    if correct_lam or ratio_minmax is not None:
        bbox_area = (yu - yl) * (xu - xl)
        lam = 1. - bbox_area / float(img_shape[-2] * img_shape[-1])
    return (yl, yu, xl, xu), lam


class Mixup:
    """Mixup / CutMix with parameters per batch ('batch') or per element ('elem')."""

    def __init__(self, mixup_alpha=1., cutmix_alpha=0., cutmix_minmax=None, prob=1.0, switch_prob=0.5,
                 mode='batch', correct_lam=True, label_smoothing=0., num_classes=0):
        assert num_classes > 0, 'num_classes must be set for target generation'
        self.mixup_alpha = mixup_alpha
        self.cutmix_alpha = cutmix_alpha
        self.cutmix_minmax = cutmix_minmax
        self.mix_prob = prob
        self.switch_prob = switch_prob
        self.label_smoothing = label_smoothing
        self.num_classes = num_classes
        self.mode = mode
        self.correct_lam = correct_lam
        self.mixup_enabled = True  # the train loop turns it off at mixup_off_epoch

    def _params_per_elem(self, batch_size):
        lam = np.ones(batch_size, dtype=np.float32)
        use_cutmix = np.zeros(batch_size, dtype=np.bool)
        if self.mixup_enabled:
            if self.mixup_alpha > 0. and self.cutmix_alpha > 0.:
                use_cutmix = np.random.rand(batch_size) < self.switch_prob
                lam_mix = np.where(
                    use_cutmix,
                    np.random.beta(self.cutmix_alpha, self.cutmix_alpha, size=batch_size),
                    np.random.beta(self.mixup_alpha, self.mixup_alpha, size=batch_size))
            elif self.mixup_alpha > 0.:
                lam_mix = np.random.beta(self.mixup_alpha, self.mixup_alpha, size=batch_size)
            elif self.cutmix_alpha > 0.:
                use_cutmix = np.ones(batch_size, dtype=np.bool)
                lam_mix = np.random.beta(self.cutmix_alpha, self.cutmix_alpha, size=batch_size)
            else:
                assert False, "One of mixup_alpha > 0., cutmix_alpha > 0. should be true."
            lam = np.where(np.random.rand(batch_size) < self.mix_prob, lam_mix.astype(np.float32), lam)
        return lam, use_cutmix

    def _params_per_batch(self):
        lam = 1.
        use_cutmix = False
        if self.mixup_enabled and np.random.rand() < self.mix_prob:
            if self.mixup_alpha > 0. and self.cutmix_alpha > 0.:
                use_cutmix = np.random.rand() < self.switch_prob
                lam_mix = np.random.beta(self.cutmix_alpha, self.cutmix_alpha) if use_cutmix else \
                    np.random.beta(self.mixup_alpha, self.mixup_alpha)
            elif self.mixup_alpha > 0.:
                lam_mix = np.random.beta(self.mixup_alpha, self.mixup_alpha)
            elif self.cutmix_alpha > 0.:
                use_cutmix = True
                lam_mix = np.random.beta(self.cutmix_alpha, self.cutmix_alpha)
            else:
                assert False, "One of mixup_alpha > 0., cutmix_alpha > 0. should be true."
            lam = float(lam_mix)
        return lam, use_cutmix

    def _mix_elem(self, x):
        batch_size = len(x)
        lam_batch, use_cutmix = self._params_per_elem(batch_size)
        x_orig = x.clone()  # an unmodified source to mix from
        for i in range(batch_size):
            j = batch_size - i - 1
            lam = lam_batch[i]
            if lam != 1.:
                if use_cutmix[i]:
                    (yl, yh, xl, xh), lam = cutmix_bbox_and_lam(
                        x[i].shape, lam, ratio_minmax=self.cutmix_minmax, correct_lam=self.correct_lam)
                    x[i][:, yl:yh, xl:xh] = x_orig[j][:, yl:yh, xl:xh]
                    lam_batch[i] = lam
                else:
                    x[i] = x[i] * lam + x_orig[j] * (1 - lam)
        return torch.tensor(lam_batch, device=x.device, dtype=x.dtype).unsqueeze(1)

    def _mix_batch(self, x):
        lam, use_cutmix = self._params_per_batch()
        if lam == 1.:
            return 1.
        if use_cutmix:
            (yl, yh, xl, xh), lam = cutmix_bbox_and_lam(
                x.shape, lam, ratio_minmax=self.cutmix_minmax, correct_lam=self.correct_lam)
            x[:, :, yl:yh, xl:xh] = x.flip(0)[:, :, yl:yh, xl:xh]
        else:
            x_flipped = x.flip(0).mul_(1. - lam)
            x.mul_(lam).add_(x_flipped)
        return lam

    def __call__(self, x, target):
        assert len(x) % 2 == 0, 'Batch size should be even when using this'
        if self.mode == 'elem':
            lam = self._mix_elem(x)
        else:
            lam = self._mix_batch(x)
        target = mixup_target(target, self.num_classes, lam, self.label_smoothing, x.device)
        return x, target


# -- timm/loss/cross_entropy.py ------------------------------------------------------------------------------

class LabelSmoothingCrossEntropy(nn.Module):
    """NLL loss with label smoothing."""

    def __init__(self, smoothing=0.1):
        super(LabelSmoothingCrossEntropy, self).__init__()
        assert smoothing < 1.0
        self.smoothing = smoothing
        self.confidence = 1. - smoothing

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logprobs = F.log_softmax(x, dim=-1)
        nll_loss = -logprobs.gather(dim=-1, index=target.unsqueeze(1))
        nll_loss = nll_loss.squeeze(1)
        smooth_loss = -logprobs.mean(dim=-1)
        loss = self.confidence * nll_loss + self.smoothing * smooth_loss
        return loss.mean()


class SoftTargetCrossEntropy(nn.Module):

    def __init__(self):
        super(SoftTargetCrossEntropy, self).__init__()

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = torch.sum(-target * F.log_softmax(x, dim=-1), dim=-1)
        return loss.mean()


# -- timm/utils/model_ema.py ---------------------------------------------------------------------------------

class ModelEmaV2(nn.Module):
    """A moving average of everything in the model's state_dict (parameters and buffers), matched in order."""

    def __init__(self, model, decay=0.9999, device=None):
        super().__init__()
        # a copy of the model that accumulates the moving average of the weights
        self.module = deepcopy(model)
        self.module.eval()
        self.decay = decay
        self.device = device  # the EMA may live on another device
        if self.device is not None:
            self.module.to(device=device)

    def _update(self, model, update_fn):
        with torch.no_grad():
            for ema_v, model_v in zip(self.module.state_dict().values(), model.state_dict().values()):
                if self.device is not None:
                    model_v = model_v.to(device=self.device)
                ema_v.copy_(update_fn(ema_v, model_v))

    def update(self, model):
        self._update(model, update_fn=lambda e, m: self.decay * e + (1. - self.decay) * m)

    def set(self, model):
        self._update(model, update_fn=lambda e, m: m)

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)


# -- timm/scheduler/scheduler.py, cosine_lr.py ---------------------------------------------------------------

class Scheduler:
    """Parameter scheduler base: called at the end of each epoch (``step``) or update (``step_update``)."""

    def __init__(self, optimizer, param_group_field, noise_range_t=None, noise_type='normal', noise_pct=0.67,
                 noise_std=1.0, noise_seed=None, initialize=True):
        self.optimizer = optimizer
        self.param_group_field = param_group_field
        self._initial_param_group_field = f"initial_{param_group_field}"
        if initialize:
            for i, group in enumerate(self.optimizer.param_groups):
                if param_group_field not in group:
                    raise KeyError(f"{param_group_field} missing from param_groups[{i}]")
                group.setdefault(self._initial_param_group_field, group[param_group_field])
        else:
            for i, group in enumerate(self.optimizer.param_groups):
                if self._initial_param_group_field not in group:
                    raise KeyError(f"{self._initial_param_group_field} missing from param_groups[{i}]")
        self.base_values = [group[self._initial_param_group_field] for group in self.optimizer.param_groups]
        self.metric = None
        self.noise_range_t = noise_range_t
        self.noise_pct = noise_pct
        self.noise_type = noise_type
        self.noise_std = noise_std
        self.noise_seed = noise_seed if noise_seed is not None else 42
        self.update_groups(self.base_values)

    def state_dict(self):
        return {key: value for key, value in self.__dict__.items() if key != 'optimizer'}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)

    def get_epoch_values(self, epoch: int):
        return None

    def get_update_values(self, num_updates: int):
        return None

    def step(self, epoch: int, metric: float = None) -> None:
        self.metric = metric
        values = self.get_epoch_values(epoch)
        if values is not None:
            values = self._add_noise(values, epoch)
            self.update_groups(values)

    def step_update(self, num_updates: int, metric: float = None):
        self.metric = metric
        values = self.get_update_values(num_updates)
        if values is not None:
            values = self._add_noise(values, num_updates)
            self.update_groups(values)

    def update_groups(self, values):
        if not isinstance(values, (list, tuple)):
            values = [values] * len(self.optimizer.param_groups)
        for param_group, value in zip(self.optimizer.param_groups, values):
            param_group[self.param_group_field] = value

    def _add_noise(self, lrs, t):
        if self.noise_range_t is not None:
            if isinstance(self.noise_range_t, (list, tuple)):
                apply_noise = self.noise_range_t[0] <= t < self.noise_range_t[1]
            else:
                apply_noise = t >= self.noise_range_t
            if apply_noise:
                g = torch.Generator()
                g.manual_seed(self.noise_seed + t)
                if self.noise_type == 'normal':
                    while True:
                        # resample if noise out of percent limit, brute force but shouldn't spin much
                        noise = torch.randn(1, generator=g).item()
                        if abs(noise) < self.noise_pct:
                            break
                else:
                    noise = 2 * (torch.rand(1, generator=g).item() - 0.5) * self.noise_pct
                lrs = [v + v * noise for v in lrs]
        return lrs


class CosineLRScheduler(Scheduler):
    """Cosine decay with restarts (https://arxiv.org/abs/1608.03983), linear warm-up."""

    def __init__(self, optimizer, t_initial, lr_min=0., cycle_mul=1., cycle_decay=1., cycle_limit=1, warmup_t=0,
                 warmup_lr_init=0, warmup_prefix=False, t_in_epochs=True, noise_range_t=None, noise_pct=0.67,
                 noise_std=1.0, noise_seed=42, k_decay=1.0, initialize=True):
        super().__init__(optimizer, param_group_field="lr", noise_range_t=noise_range_t, noise_pct=noise_pct,
                         noise_std=noise_std, noise_seed=noise_seed, initialize=initialize)
        assert t_initial > 0
        assert lr_min >= 0
        self.t_initial = t_initial
        self.lr_min = lr_min
        self.cycle_mul = cycle_mul
        self.cycle_decay = cycle_decay
        self.cycle_limit = cycle_limit
        self.warmup_t = warmup_t
        self.warmup_lr_init = warmup_lr_init
        self.warmup_prefix = warmup_prefix
        self.t_in_epochs = t_in_epochs
        self.k_decay = k_decay
        if self.warmup_t:
            self.warmup_steps = [(v - warmup_lr_init) / self.warmup_t for v in self.base_values]
            super().update_groups(self.warmup_lr_init)
        else:
            self.warmup_steps = [1 for _ in self.base_values]

    def _get_lr(self, t):
        if t < self.warmup_t:
            lrs = [self.warmup_lr_init + t * s for s in self.warmup_steps]
        else:
            if self.warmup_prefix:
                t = t - self.warmup_t

            if self.cycle_mul != 1:
                i = math.floor(math.log(1 - t / self.t_initial * (1 - self.cycle_mul), self.cycle_mul))
                t_i = self.cycle_mul ** i * self.t_initial
                t_curr = t - (1 - self.cycle_mul ** i) / (1 - self.cycle_mul) * self.t_initial
            else:
                i = t // self.t_initial
                t_i = self.t_initial
                t_curr = t - (self.t_initial * i)

            gamma = self.cycle_decay ** i
            lr_max_values = [v * gamma for v in self.base_values]
            k = self.k_decay

            if i < self.cycle_limit:
                lrs = [
                    self.lr_min + 0.5 * (lr_max - self.lr_min) * (1 + math.cos(math.pi * t_curr ** k / t_i ** k))
                    for lr_max in lr_max_values
                ]
            else:
                lrs = [self.lr_min for _ in self.base_values]
        return lrs

    def get_epoch_values(self, epoch: int):
        return self._get_lr(epoch) if self.t_in_epochs else None

    def get_update_values(self, num_updates: int):
        return self._get_lr(num_updates) if not self.t_in_epochs else None

    def get_cycle_length(self, cycles=0):
        cycles = max(1, cycles or self.cycle_limit)
        if self.cycle_mul == 1.0:
            return self.t_initial * cycles
        return int(math.floor(-self.t_initial * (self.cycle_mul ** cycles - 1) / (1 - self.cycle_mul)))


# -- timm/optim/_param_groups.py -----------------------------------------------------------------------------

def param_groups_weight_decay(model, weight_decay=1e-5, no_weight_decay_list=()):
    no_weight_decay_list = set(no_weight_decay_list)
    decay = []
    no_decay = []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue

        if param.ndim <= 1 or name.endswith(".bias") or name in no_weight_decay_list:
            no_decay.append(param)
        else:
            decay.append(param)

    return [
        {'params': no_decay, 'weight_decay': 0.},
        {'params': decay, 'weight_decay': weight_decay}]


# -- timm/utils: metrics.py, clip_grad.py, cuda.py, model.py -------------------------------------------------

class AverageMeter:
    """Computes and stores the average and current value"""

    def __init__(self):
        self.reset()

    def reset(self):
        self.val = 0
        self.avg = 0
        self.sum = 0
        self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count


def accuracy(output, target, topk=(1,)):
    """Computes the accuracy over the k top predictions for the specified values of k"""
    maxk = min(max(topk), output.size()[1])
    batch_size = target.size(0)
    _, pred = output.topk(maxk, 1, True, True)
    pred = pred.t()
    correct = pred.eq(target.reshape(1, -1).expand_as(pred))
    return [
        correct[:k].reshape(-1).float().sum(0) * 100. / batch_size
        if k <= maxk else torch.tensor(100.) for k in topk
    ]


def dispatch_clip_grad(parameters, value: float, mode: str = 'norm', norm_type: float = 2.0):
    if mode == 'norm':
        torch.nn.utils.clip_grad_norm_(parameters, value, norm_type=norm_type)
    elif mode == 'value':
        torch.nn.utils.clip_grad_value_(parameters, value)
    else:
        assert False, f"Unknown clip mode ({mode})."


class NativeScaler:
    state_dict_key = "amp_scaler"

    def __init__(self, device='cuda'):
        self._scaler = torch.amp.GradScaler(device=device)

    def __call__(self, loss, optimizer, clip_grad=None, clip_mode='norm', parameters=None, create_graph=False,
                 need_update=True):
        self._scaler.scale(loss).backward(create_graph=create_graph)
        if need_update:
            if clip_grad is not None:
                assert parameters is not None
                self._scaler.unscale_(optimizer)  # unscale the gradients of optimizer's assigned params in-place
                dispatch_clip_grad(parameters, clip_grad, mode=clip_mode)
            self._scaler.step(optimizer)
            self._scaler.update()

    def state_dict(self):
        return self._scaler.state_dict()

    def load_state_dict(self, state_dict):
        self._scaler.load_state_dict(state_dict)


def unwrap_model(model):
    if isinstance(model, ModelEmaV2):
        return unwrap_model(model.module)
    if hasattr(model, 'module'):
        return unwrap_model(model.module)
    if hasattr(model, '_orig_mod'):
        return unwrap_model(model._orig_mod)
    return model


def model_parameters(model, exclude_head=False):
    if exclude_head:
        # FIXME this a bit of a quick and dirty hack to skip classifier head params based on ordering
        return [p for p in model.parameters()][:-2]
    return model.parameters()


# -- checkpoints: timm/utils/checkpoint_saver.py, timm/models/_helpers.py ------------------------------------

def save_checkpoint(path, epoch, model, optimizer, args, model_ema=None, loss_scaler=None, lr_scheduler=None,
                    metric=None):
    save_state = {
        'epoch': epoch,
        'arch': args.model,
        'state_dict': unwrap_model(model).state_dict(),
        'optimizer': optimizer.state_dict(),
        'version': 2,  # version < 2 increments epoch before save
        'args': vars(args),
    }
    if loss_scaler is not None:
        save_state[loss_scaler.state_dict_key] = loss_scaler.state_dict()
    if model_ema is not None:
        save_state['state_dict_ema'] = unwrap_model(model_ema).state_dict()
    if lr_scheduler is not None:
        save_state['scheduler'] = lr_scheduler.state_dict()
    if metric is not None:
        save_state['metric'] = metric
    torch.save(save_state, path)


def clean_state_dict(state_dict):
    # 'clean' checkpoint by removing .module prefix from state dict if it exists from parallel training
    cleaned_state_dict = {}
    for k, v in state_dict.items():
        name = k[7:] if k.startswith('module.') else k
        cleaned_state_dict[name] = v
    return cleaned_state_dict


def resume_checkpoint(model, checkpoint_path, optimizer=None, loss_scaler=None, lr_scheduler=None):
    resume_epoch = None
    if os.path.isfile(checkpoint_path):
        checkpoint = torch.load(checkpoint_path, map_location='cpu', weights_only=True)
        if isinstance(checkpoint, dict) and 'state_dict' in checkpoint:
            print('Restoring model state from checkpoint...')
            state_dict = clean_state_dict(checkpoint['state_dict'])
            model.load_state_dict(state_dict)

            if optimizer is not None and 'optimizer' in checkpoint:
                print('Restoring optimizer state from checkpoint...')
                optimizer.load_state_dict(checkpoint['optimizer'])

            if loss_scaler is not None and loss_scaler.state_dict_key in checkpoint:
                print('Restoring AMP loss scaler state from checkpoint...')
                loss_scaler.load_state_dict(checkpoint[loss_scaler.state_dict_key])

            if lr_scheduler is not None and 'scheduler' in checkpoint:
                lr_scheduler.load_state_dict(checkpoint['scheduler'])

            if 'epoch' in checkpoint:
                resume_epoch = checkpoint['epoch']
                if 'version' in checkpoint and checkpoint['version'] > 1:
                    resume_epoch += 1  # start at the next epoch, old checkpoints incremented before save
            print("Loaded checkpoint '{}' (epoch {})".format(checkpoint_path, checkpoint['epoch']))
        else:
            model.load_state_dict(checkpoint)
        return resume_epoch
    raise FileNotFoundError("No checkpoint found at '{}'".format(checkpoint_path))


def load_checkpoint(model, checkpoint_path, use_ema=True, strict=True):
    checkpoint = torch.load(checkpoint_path, map_location='cpu', weights_only=True)
    state_dict_key = 'state_dict_ema' if use_ema and 'state_dict_ema' in checkpoint else 'state_dict'
    model.load_state_dict(clean_state_dict(checkpoint[state_dict_key]), strict=strict)


# -- the data: a synthetic stand-in for create_dataset / create_loader ---------------------------------------

class SyntheticImages(Dataset):
    """Images of ``num_classes`` fixed random patterns (one per class) under noise, 3 x size x size."""

    def __init__(self, num_samples, num_classes=10, img_size=32, seed=0, noise=0.5):
        rng = np.random.RandomState(1234)  # the same class patterns for every split
        self.patterns = rng.randn(num_classes, 3, img_size // 4, img_size // 4).astype(np.float32)
        rng = np.random.RandomState(seed)
        self.targets = rng.randint(0, num_classes, num_samples)
        self.noise = rng.randn(num_samples, 3, img_size, img_size).astype(np.float32) * noise
        self.img_size = img_size

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        target = int(self.targets[index])
        pattern = self.patterns[target].repeat(4, axis=1).repeat(4, axis=2)
        return torch.from_numpy(pattern + self.noise[index]), target


# -- train.py ------------------------------------------------------------------------------------------------

def train_one_epoch(epoch, model, loader, optimizer, loss_fn, args, lr_scheduler=None, amp_autocast=suppress,
                    loss_scaler=None, model_ema=None, mixup_fn=None):
    if args.mixup_off_epoch and epoch >= args.mixup_off_epoch:
        if mixup_fn is not None:
            mixup_fn.mixup_enabled = False

    second_order = hasattr(optimizer, 'is_second_order') and optimizer.is_second_order
    losses_m = AverageMeter()
    step_losses = []

    model.train()

    last_idx = len(loader) - 1
    num_updates = epoch * len(loader)
    for batch_idx, (input, target) in enumerate(loader):
        last_batch = batch_idx == last_idx
        if mixup_fn is not None:
            input, target = mixup_fn(input, target)
        if args.channels_last:
            input = input.contiguous(memory_format=torch.channels_last)

        with amp_autocast():
            output = model(input)
            loss = loss_fn(output, target)

        losses_m.update(loss.item(), input.size(0))
        step_losses.append(loss.item())

        optimizer.zero_grad()
        if loss_scaler is not None:
            loss_scaler(
                loss, optimizer,
                clip_grad=args.clip_grad, clip_mode=args.clip_mode,
                parameters=model_parameters(model, exclude_head='agc' in args.clip_mode),
                create_graph=second_order)
        else:
            loss.backward(create_graph=second_order)
            if args.clip_grad is not None:
                dispatch_clip_grad(
                    model_parameters(model, exclude_head='agc' in args.clip_mode),
                    value=args.clip_grad, mode=args.clip_mode)
            optimizer.step()

        if model_ema is not None:
            model_ema.update(model)

        num_updates += 1
        if last_batch or batch_idx % args.log_interval == 0:
            lrl = [param_group['lr'] for param_group in optimizer.param_groups]
            lr = sum(lrl) / len(lrl)
            print('Train: {} [{:>4d}/{} ({:>3.0f}%)]  Loss: {loss.val:#.4g} ({loss.avg:#.3g})  LR: {lr:.3e}'.format(
                epoch, batch_idx, len(loader), 100. * batch_idx / max(last_idx, 1), loss=losses_m, lr=lr))

        if lr_scheduler is not None:
            lr_scheduler.step_update(num_updates=num_updates, metric=losses_m.avg)

    return OrderedDict([('loss', losses_m.avg), ('losses', step_losses)])


def validate(model, loader, loss_fn, args, amp_autocast=suppress, log_suffix=''):
    losses_m = AverageMeter()
    top1_m = AverageMeter()
    top5_m = AverageMeter()

    model.eval()

    with torch.no_grad():
        for batch_idx, (input, target) in enumerate(loader):
            if args.channels_last:
                input = input.contiguous(memory_format=torch.channels_last)

            with amp_autocast():
                output = model(input)
            if isinstance(output, (tuple, list)):
                output = output[0]

            loss = loss_fn(output, target)
            acc1, acc5 = accuracy(output, target, topk=(1, 5))

            reduced_loss = loss.data

            losses_m.update(reduced_loss.item(), input.size(0))
            top1_m.update(acc1.item(), output.size(0))
            top5_m.update(acc5.item(), output.size(0))

    print('Test{}: Loss: {loss.avg:>6.4f}  Acc@1: {top1.avg:>7.4f}  Acc@5: {top5.avg:>7.4f}'.format(
        log_suffix, loss=losses_m, top1=top1_m, top5=top5_m))
    return OrderedDict([('loss', losses_m.avg), ('top1', top1_m.avg), ('top5', top5_m.avg)])


def parse_args(argv):
    parser = argparse.ArgumentParser(description='timm-style ConvNeXt training')
    parser.add_argument('--model', default='convnext_tiny_width')
    parser.add_argument('--dims', type=int, nargs=4, default=(8, 16, 32, 64))
    parser.add_argument('--depths', type=int, nargs=4, default=(1, 1, 2, 1))
    parser.add_argument('--conv-mlp', action='store_true', default=False,
                        help='1x1 conv MLP and LayerNorm2d (convnext_atto) instead of permute + Linear')
    parser.add_argument('--num-classes', type=int, default=10)
    parser.add_argument('--img-size', type=int, default=32)
    parser.add_argument('--train-size', type=int, default=96)
    parser.add_argument('--val-size', type=int, default=32)
    parser.add_argument('-b', '--batch-size', type=int, default=16)
    parser.add_argument('--epochs', type=int, default=4)
    parser.add_argument('--warmup-epochs', type=int, default=1)
    parser.add_argument('--lr', type=float, default=4e-3)
    parser.add_argument('--min-lr', type=float, default=1e-5)
    parser.add_argument('--warmup-lr', type=float, default=1e-4)
    parser.add_argument('--weight-decay', type=float, default=0.05)
    parser.add_argument('--opt-eps', type=float, default=1e-8)
    parser.add_argument('--clip-grad', type=float, default=5.0)
    parser.add_argument('--clip-mode', default='norm')
    parser.add_argument('--drop-path', type=float, default=0.1)
    parser.add_argument('--mixup', type=float, default=0.8)
    parser.add_argument('--cutmix', type=float, default=1.0)
    parser.add_argument('--mixup-prob', type=float, default=1.0)
    parser.add_argument('--mixup-switch-prob', type=float, default=0.5)
    parser.add_argument('--mixup-mode', default='batch')
    parser.add_argument('--mixup-off-epoch', type=int, default=0)
    parser.add_argument('--smoothing', type=float, default=0.1)
    parser.add_argument('--model-ema', action='store_true', default=True)
    parser.add_argument('--no-model-ema', action='store_false', dest='model_ema')
    parser.add_argument('--model-ema-decay', type=float, default=0.9)
    parser.add_argument('--grad-checkpointing', action='store_true', default=False)
    parser.add_argument('--channels-last', action='store_true', default=False)
    parser.add_argument('--amp', action='store_true', default=False)
    parser.add_argument('--resume', default='')
    parser.add_argument('--output', default='output')
    parser.add_argument('--log-interval', type=int, default=2)
    parser.add_argument('--seed', type=int, default=42)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    model = ConvNeXt(num_classes=args.num_classes, depths=tuple(args.depths), dims=tuple(args.dims),
                     conv_mlp=args.conv_mlp, drop_path_rate=args.drop_path)
    print('Model {} created, param count: {}'.format(args.model, sum(m.numel() for m in model.parameters())))
    if args.grad_checkpointing:
        model.set_grad_checkpointing(enable=True)
    if args.channels_last:
        model.to(memory_format=torch.channels_last)

    # AdamW without weight decay on norms, biases and layer scales
    parameters = param_groups_weight_decay(model, args.weight_decay)
    optimizer = torch.optim.AdamW(parameters, lr=args.lr, eps=args.opt_eps)

    amp_autocast = suppress  # float32 on the CPU
    loss_scaler = NativeScaler(device='cpu') if args.amp else None

    resume_epoch = None
    lr_scheduler = CosineLRScheduler(optimizer, t_initial=args.epochs, lr_min=args.min_lr,
                                     warmup_lr_init=args.warmup_lr, warmup_t=args.warmup_epochs, t_in_epochs=True)
    num_epochs = lr_scheduler.get_cycle_length()
    if args.resume:
        resume_epoch = resume_checkpoint(model, args.resume, optimizer=optimizer, loss_scaler=loss_scaler,
                                         lr_scheduler=lr_scheduler)

    # EMA of the weights: after the model is placed, before any wrapper
    model_ema = None
    if args.model_ema:
        model_ema = ModelEmaV2(model, decay=args.model_ema_decay)
        if args.resume:
            load_checkpoint(model_ema.module, args.resume, use_ema=True)

    start_epoch = resume_epoch if resume_epoch is not None else 0
    if lr_scheduler is not None and start_epoch > 0:
        lr_scheduler.step(start_epoch)

    dataset_train = SyntheticImages(args.train_size, args.num_classes, args.img_size, seed=0)
    dataset_eval = SyntheticImages(args.val_size, args.num_classes, args.img_size, seed=1)

    mixup_fn = None
    mixup_active = args.mixup > 0 or args.cutmix > 0.
    if mixup_active:
        mixup_fn = Mixup(mixup_alpha=args.mixup, cutmix_alpha=args.cutmix, prob=args.mixup_prob,
                         switch_prob=args.mixup_switch_prob, mode=args.mixup_mode,
                         label_smoothing=args.smoothing, num_classes=args.num_classes)

    loader_train = DataLoader(dataset_train, batch_size=args.batch_size, shuffle=True, drop_last=True)
    loader_eval = DataLoader(dataset_eval, batch_size=args.batch_size, shuffle=False)

    if mixup_active:
        # smoothing is handled by the mixup target transform, which outputs soft targets
        train_loss_fn = SoftTargetCrossEntropy()
    elif args.smoothing:
        train_loss_fn = LabelSmoothingCrossEntropy(smoothing=args.smoothing)
    else:
        train_loss_fn = nn.CrossEntropyLoss()
    validate_loss_fn = nn.CrossEntropyLoss()

    os.makedirs(args.output, exist_ok=True)
    result = {'losses': [], 'lrs': [], 'eval': [], 'ema_eval': [], 'epochs': []}
    for epoch in range(start_epoch, num_epochs):
        result['lrs'].append(optimizer.param_groups[1]['lr'])
        train_metrics = train_one_epoch(
            epoch, model, loader_train, optimizer, train_loss_fn, args, lr_scheduler=lr_scheduler,
            amp_autocast=amp_autocast, loss_scaler=loss_scaler, model_ema=model_ema, mixup_fn=mixup_fn)
        result['losses'] += train_metrics['losses']
        result['epochs'].append(epoch)

        eval_metrics = validate(model, loader_eval, validate_loss_fn, args, amp_autocast=amp_autocast)
        result['eval'].append(dict(eval_metrics))
        if model_ema is not None:
            ema_eval_metrics = validate(model_ema.module, loader_eval, validate_loss_fn, args,
                                        amp_autocast=amp_autocast, log_suffix=' (EMA)')
            result['ema_eval'].append(dict(ema_eval_metrics))
            eval_metrics = ema_eval_metrics

        if lr_scheduler is not None:
            # step LR for next epoch
            lr_scheduler.step(epoch + 1, eval_metrics['top1'])

        # (CheckpointSaver: checkpoint-<epoch>.pth.tar for the history, last.pth.tar for recovery)
        checkpoint_path = os.path.join(args.output, 'checkpoint-%d.pth.tar' % epoch)
        save_checkpoint(checkpoint_path, epoch, model, optimizer, args, model_ema=model_ema,
                        loss_scaler=loss_scaler, lr_scheduler=lr_scheduler, metric=eval_metrics['top1'])
        shutil.copyfile(checkpoint_path, os.path.join(args.output, 'last.pth.tar'))
    return result


if __name__ == '__main__':
    main()
