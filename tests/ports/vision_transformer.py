"""A small vision transformer in the style of pytorch/examples vision_transformer/main.py and the common
research implementations: patches by Tensor.unfold, a class token, learned position embeddings,
pre-norm blocks with F.scaled_dot_product_attention, AdamW, warm-up + cosine schedule, label smoothing."""

# ruff: noqa  (plain research-code style)

import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset


class Attention(nn.Module):
    def __init__(self, dim, heads, dropout=0.0):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.proj = nn.Linear(dim, dim)
        self.dropout = dropout

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q, k, v = (t.view(b, n, self.heads, d // self.heads).transpose(1, 2) for t in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio=2.0, dropout=0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, int(dim * mlp_ratio)), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(int(dim * mlp_ratio), dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    def __init__(self, image_size=16, patch_size=8, channels=1, num_classes=4, dim=32, depth=2, heads=4):
        super().__init__()
        self.patch_size = patch_size
        num_patches = (image_size // patch_size) ** 2
        self.to_embedding = nn.Linear(channels * patch_size * patch_size, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embedding = nn.Parameter(torch.randn(1, num_patches + 1, dim) * 0.02)
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)
        nn.init.trunc_normal_(self.cls_token, std=0.02)

    def patchify(self, images):
        p = self.patch_size
        b, c, _, _ = images.shape
        patches = images.unfold(2, p, p).unfold(3, p, p)  # b, c, h/p, w/p, p, p
        return patches.permute(0, 2, 3, 1, 4, 5).reshape(b, -1, c * p * p)

    def forward(self, images):
        x = self.to_embedding(self.patchify(images))
        cls = self.cls_token.expand(x.size(0), -1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos_embedding
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x[:, 0]))


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--epochs', type=int, default=4)
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--lr', type=float, default=3e-3)
    parser.add_argument('--warmup-steps', type=int, default=4)
    args = parser.parse_args(argv)
    torch.manual_seed(0)

    # Which quadrant of a 16x16 image holds a bright square.
    n = 256
    labels = torch.randint(0, 4, (n,))
    images = 0.3 * torch.randn(n, 1, 16, 16)
    rows, cols = torch.div(labels, 2, rounding_mode='floor'), labels % 2
    for i in range(n):
        r, c = rows[i].item() * 8, cols[i].item() * 8
        images[i, 0, r + 2:r + 6, c + 2:c + 6] += 1.0
    loader = DataLoader(TensorDataset(images, labels), batch_size=args.batch_size, shuffle=True)

    model = ViT()
    decay = [p for name, p in model.named_parameters() if p.ndim >= 2 and 'embedding' not in name]
    no_decay = [p for name, p in model.named_parameters() if p.ndim < 2 or 'embedding' in name]
    optimizer = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.05},
                                   {'params': no_decay, 'weight_decay': 0.0}], lr=args.lr)
    total_steps = args.epochs * len(loader)

    def lr_lambda(step):
        if step < args.warmup_steps:
            return (step + 1) / args.warmup_steps
        progress = (step - args.warmup_steps) / max(1, total_steps - args.warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    losses = []
    for epoch in range(args.epochs):
        model.train()
        correct = 0
        for x, y in loader:
            optimizer.zero_grad(set_to_none=True)
            logits = model(x)
            loss = criterion(logits, y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            correct += (logits.argmax(-1) == y).sum().item()
        print(f'epoch {epoch}: loss {losses[-1]:.3f} train accuracy {correct / n:.2f} lr {scheduler.get_last_lr()[0]:.2e}')
    return losses


if __name__ == "__main__":
    main()
