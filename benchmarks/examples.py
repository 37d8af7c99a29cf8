"""Training steps of programs from pytorch/examples and the PyTorch tutorials, Ember vs torch, run by hand.

Issue 23 ("speed must hold on the shapes of real programs"): the suite's workloads missed costs that a ported
tutorial showed at once, so this file runs small, faithful training steps of real programs. Each program is
written once against ``lib`` (``ember`` or ``torch``; the module name is the only difference), gets the same
weights (``models._same_weights``) and the same data (a fixed numpy seed),
and runs at ONE thread (numba, OpenBLAS and torch), timed in CPU time (``time.process_time``), Ember and torch
interleaved in one process. Each of 7 rounds times a few steps of each framework; the best and median per-step
ms are printed with the ratio.

Programs (``PROGRAMS``; batch sizes as the examples use, or smaller to keep a step well under a second):
    text_classification  the text-classification tutorial: EmbeddingBag 95811x64 + Linear, SGD lr 5, clip_grad_norm
    mnist                pytorch/examples/mnist: two 3x3 convs, max_pool2d, dropout, fc 9216->128->10, Adadelta
    mnist_rnn            pytorch/examples/mnist_rnn: LSTM over the 28 rows (hidden 64), BatchNorm1d, Dropout2d, Adadelta
    fast_neural_style    TransformerNet (ReflectionPad2d, InstanceNorm2d, 5 residual blocks, nearest upsampling),
                         batch 2 of 3x96x96, MSE to a target, Adam (the VGG loss network left out)
    super_resolution     pytorch/examples/super_resolution: convs 5x5 / 3x3, PixelShuffle(3), 8 x 1x64x64, MSE, Adam
    actor_critic         pytorch/examples/reinforcement_learning/actor_critic: an episode of 200 steps (Categorical
                         sampling, per-step log_prob / value in lists) and the example's finish_episode update
    gcn                  pytorch/examples/gcn: two GraphConv layers on 2708 nodes x 1433 features, a sparse
                         normalised adjacency (``sparse_coo_tensor`` + ``sparse.mm``), Adam with weight decay
    seq2seq_attention    the "NLP from scratch" translation tutorial: Embedding + GRU encoder, Bahdanau-attention
                         GRU decoder with teacher forcing, NLLLoss, Adam (batch 32, 10 tokens)
    gat                  pytorch/examples/gat: 8-head graph attention (dense adjacency, where / masked softmax over
                         8 x N x N scores), ELU, Adam with weight decay; 1000 nodes (Cora's 2708 is 8 x 58 MB)
    spatial_transformer  the Spatial Transformer Networks tutorial: a localisation net, affine_grid + grid_sample,
                         then a small convnet; Dropout2d, SGD, b64 x 1x28x28
    translation_transformer  the nn.Transformer translation tutorial: 3 + 3 layers, d 512, 8 heads, ffn 512, padded
                         batches with key-padding and causal masks, CrossEntropyLoss(ignore_index), Adam; batch 8
    style_transfer       the neural style transfer tutorial: VGG-19's first five convs (random weights), content and
                         Gram-matrix style losses, LBFGS on a 3x56x56 image (one step = up to 20 closure calls)
    names_classification the char-RNN names tutorial: nn.RNN 58->128 run per name (64 names of 3-12 letters), the
                         64 losses summed, one backward, clip_grad_norm_, SGD
    wgan_gp              a WGAN-GP critic step as the PyTorch ports of Gulrajani et al. write it: a DCGAN-style critic
                         (4x4 stride-2 convs 3-64-128-256, LeakyReLU, no norm), the gradient penalty through
                         ``autograd.grad(..., create_graph=True)`` on interpolates, Adam(0.5, 0.9); batch 32, 3x32x32

Usage:
    python benchmarks/examples.py                     # all programs
    python benchmarks/examples.py mnist gcn           # some of them
    python benchmarks/examples.py --profile mnist     # and a cProfile (CPU clock) of Ember's step, top 15 by tottime
    python benchmarks/examples.py --rounds 3          # a rough look
"""

from __future__ import annotations

import os
import sys

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"  # one thread, set before numpy / numba / torch start their thread pools

import argparse
import statistics
import time
import traceback

import numpy as np

# the repository instead of benchmarks/ on the path, so that `benchmarks` imports as a package
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from benchmarks.models import _same_weights


def _tensor(lib, array):
    return lib.from_numpy(np.ascontiguousarray(array))


def _train_step(optimizer, loss_fn):
    """The examples' inner loop as a step: ``zero_grad``, the loss, ``backward``, ``step``."""

    def step():
        optimizer.zero_grad()
        loss = loss_fn()
        loss.backward()
        optimizer.step()
        return loss

    return step


# --- 1. text classification (the PyTorch tutorial "Text classification with the torchtext library") ---------
def text_classification(lib):
    nn = lib.nn
    vocab, dim, classes, batch = 95811, 64, 4, 64

    class TextClassificationModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.EmbeddingBag(vocab, dim, sparse=False)
            self.fc = nn.Linear(dim, classes)

        def forward(self, text, offsets):
            return self.fc(self.embedding(text, offsets))

    rng = np.random.default_rng(0)
    lengths = rng.integers(20, 80, batch)
    text = _tensor(lib, rng.integers(0, vocab, lengths.sum()))
    offsets = _tensor(lib, np.concatenate([[0], np.cumsum(lengths)[:-1]]))
    label = _tensor(lib, rng.integers(0, classes, batch))
    model = _same_weights(lib, TextClassificationModel())
    optimizer = lib.optim.SGD(model.parameters(), lr=5)
    criterion = nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss = criterion(model(text, offsets), label)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        optimizer.step()
        return loss

    return step


def _digits_step(lib, net):
    """mnist's and mnist_rnn's step: ``net`` (log-probabilities) on a batch of 64 random 28x28 digits, NLL
    loss, Adadelta with lr 1, as both examples train."""
    rng = np.random.default_rng(0)
    data = _tensor(lib, rng.standard_normal((64, 1, 28, 28), dtype=np.float32))
    target = _tensor(lib, rng.integers(0, 10, 64))
    model = _same_weights(lib, net)
    model.train()
    optimizer = lib.optim.Adadelta(model.parameters(), lr=1.0)
    return _train_step(optimizer, lambda: lib.nn.functional.nll_loss(model(data), target))


# --- 2. mnist (pytorch/examples/mnist/main.py) --------------------------------------------------------------
def mnist(lib):
    nn = lib.nn
    F = nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = lib.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = self.dropout2(x)
            x = self.fc2(x)
            return F.log_softmax(x, dim=1)

    return _digits_step(lib, Net())


# --- 3. mnist_rnn (pytorch/examples/mnist_rnn/main.py) ------------------------------------------------------
def mnist_rnn(lib):
    nn = lib.nn
    F = nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(input_size=28, hidden_size=64, batch_first=True)
            self.batchnorm = nn.BatchNorm1d(64)
            self.dropout1 = nn.Dropout2d(0.25)
            self.dropout2 = nn.Dropout2d(0.5)
            self.fc1 = nn.Linear(64, 32)
            self.fc2 = nn.Linear(32, 10)

        def forward(self, input):
            input = input.reshape(-1, 28, 28)  # (batch, 1, 28, 28) -> (batch, 28 rows, 28 pixels)
            output, _hidden = self.rnn(input)
            output = output[:, -1, :]
            output = self.batchnorm(output)
            output = self.dropout1(output)
            output = F.relu(self.fc1(output))
            output = self.dropout2(output)
            output = self.fc2(output)
            return F.log_softmax(output, dim=1)

    return _digits_step(lib, Net())


# --- 4. fast_neural_style's TransformerNet (pytorch/examples/fast_neural_style/neural_style/transformer_net.py)
def fast_neural_style(lib):
    nn = lib.nn
    F = nn.functional

    class ConvLayer(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride):
            super().__init__()
            self.reflection_pad = nn.ReflectionPad2d(kernel_size // 2)
            self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

        def forward(self, x):
            return self.conv2d(self.reflection_pad(x))

    class ResidualBlock(nn.Module):
        def __init__(self, channels):
            super().__init__()
            self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
            self.in1 = nn.InstanceNorm2d(channels, affine=True)
            self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
            self.in2 = nn.InstanceNorm2d(channels, affine=True)
            self.relu = nn.ReLU()

        def forward(self, x):
            residual = x
            out = self.relu(self.in1(self.conv1(x)))
            out = self.in2(self.conv2(out))
            return out + residual

    class UpsampleConvLayer(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride, upsample=None):
            super().__init__()
            self.upsample = upsample
            self.reflection_pad = nn.ReflectionPad2d(kernel_size // 2)
            self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

        def forward(self, x):
            if self.upsample:
                x = F.interpolate(x, mode="nearest", scale_factor=self.upsample)
            return self.conv2d(self.reflection_pad(x))

    class TransformerNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = ConvLayer(3, 32, kernel_size=9, stride=1)
            self.in1 = nn.InstanceNorm2d(32, affine=True)
            self.conv2 = ConvLayer(32, 64, kernel_size=3, stride=2)
            self.in2 = nn.InstanceNorm2d(64, affine=True)
            self.conv3 = ConvLayer(64, 128, kernel_size=3, stride=2)
            self.in3 = nn.InstanceNorm2d(128, affine=True)
            self.res1 = ResidualBlock(128)
            self.res2 = ResidualBlock(128)
            self.res3 = ResidualBlock(128)
            self.res4 = ResidualBlock(128)
            self.res5 = ResidualBlock(128)
            self.deconv1 = UpsampleConvLayer(128, 64, kernel_size=3, stride=1, upsample=2)
            self.in4 = nn.InstanceNorm2d(64, affine=True)
            self.deconv2 = UpsampleConvLayer(64, 32, kernel_size=3, stride=1, upsample=2)
            self.in5 = nn.InstanceNorm2d(32, affine=True)
            self.deconv3 = ConvLayer(32, 3, kernel_size=9, stride=1)
            self.relu = nn.ReLU()

        def forward(self, X):
            y = self.relu(self.in1(self.conv1(X)))
            y = self.relu(self.in2(self.conv2(y)))
            y = self.relu(self.in3(self.conv3(y)))
            y = self.res5(self.res4(self.res3(self.res2(self.res1(y)))))
            y = self.relu(self.in4(self.deconv1(y)))
            y = self.relu(self.in5(self.deconv2(y)))
            return self.deconv3(y)

    rng = np.random.default_rng(0)
    x = _tensor(lib, rng.uniform(0, 255, (2, 3, 96, 96)).astype(np.float32))
    target = _tensor(lib, rng.uniform(0, 255, (2, 3, 96, 96)).astype(np.float32))
    model = _same_weights(lib, TransformerNet())
    optimizer = lib.optim.Adam(model.parameters(), lr=1e-3)
    mse_loss = nn.MSELoss()

    return _train_step(optimizer, lambda: mse_loss(model(x), target))


# --- 5. super_resolution (pytorch/examples/super_resolution/model.py) --------------------------------------
def super_resolution(lib):
    nn = lib.nn
    upscale_factor = 3

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.relu = nn.ReLU()
            self.conv1 = nn.Conv2d(1, 64, (5, 5), (1, 1), (2, 2))
            self.conv2 = nn.Conv2d(64, 64, (3, 3), (1, 1), (1, 1))
            self.conv3 = nn.Conv2d(64, 32, (3, 3), (1, 1), (1, 1))
            self.conv4 = nn.Conv2d(32, upscale_factor**2, (3, 3), (1, 1), (1, 1))
            self.pixel_shuffle = nn.PixelShuffle(upscale_factor)

        def forward(self, x):
            x = self.relu(self.conv1(x))
            x = self.relu(self.conv2(x))
            x = self.relu(self.conv3(x))
            return self.pixel_shuffle(self.conv4(x))

    rng = np.random.default_rng(0)
    x = _tensor(lib, rng.uniform(0, 1, (8, 1, 64, 64)).astype(np.float32))
    target = _tensor(lib, rng.uniform(0, 1, (8, 1, 192, 192)).astype(np.float32))
    model = _same_weights(lib, Net())
    optimizer = lib.optim.Adam(model.parameters(), lr=0.01)
    criterion = nn.MSELoss()

    return _train_step(optimizer, lambda: criterion(model(x), target))


# --- 6. actor_critic (pytorch/examples/reinforcement_learning/actor_critic.py) ----------------------------
def actor_critic(lib):
    nn = lib.nn
    F = nn.functional
    Categorical = lib.distributions.Categorical
    gamma, eps, episode_length = 0.99, np.finfo(np.float32).eps.item(), 200

    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.affine1 = nn.Linear(4, 128)
            self.action_head = nn.Linear(128, 2)
            self.value_head = nn.Linear(128, 1)
            self.saved_actions = []
            self.rewards = []

        def forward(self, x):
            x = F.relu(self.affine1(x))
            action_prob = F.softmax(self.action_head(x), dim=-1)
            state_values = self.value_head(x)
            return action_prob, state_values

    model = _same_weights(lib, Policy())
    optimizer = lib.optim.Adam(model.parameters(), lr=3e-2)
    states = np.random.default_rng(0).standard_normal((episode_length, 4))  # CartPole's 4 floats, as float64

    def select_action(state):
        state = lib.from_numpy(state).float()
        probs, state_value = model(state)
        m = Categorical(probs)
        action = m.sample()
        model.saved_actions.append((m.log_prob(action), state_value))
        return action.item()

    def finish_episode():
        R = 0
        saved_actions = model.saved_actions
        policy_losses, value_losses, returns = [], [], []
        for r in model.rewards[::-1]:
            R = r + gamma * R
            returns.insert(0, R)
        returns = lib.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        for (log_prob, value), R in zip(saved_actions, returns):
            advantage = R - value.item()
            policy_losses.append(-log_prob * advantage)
            value_losses.append(F.smooth_l1_loss(value, lib.tensor([R])))
        optimizer.zero_grad()
        loss = lib.stack(policy_losses).sum() + lib.stack(value_losses).sum()
        loss.backward()
        optimizer.step()
        del model.rewards[:]
        del model.saved_actions[:]
        return loss

    def step():  # one episode: the environment's states are stored, every reward is 1 as in CartPole
        for t in range(episode_length):
            select_action(states[t])
            model.rewards.append(1.0)
        return finish_episode()

    return step


# --- 7. gcn (pytorch/examples/gcn/main.py) ------------------------------------------------------------------
def _normalised_adjacency(nodes=2708, edges=5278, seed=0):
    """A random undirected graph of Cora's size: D^-1/2 (A + I) D^-1/2 as COO indices and values."""
    rng = np.random.default_rng(seed)
    src, dst = rng.integers(0, nodes, edges), rng.integers(0, nodes, edges)
    pairs = np.unique(
        np.concatenate(
            [np.stack([src, dst], 1), np.stack([dst, src], 1), np.stack([np.arange(nodes)] * 2, 1)]
        ),
        axis=0,
    )
    degree = np.bincount(pairs[:, 0], minlength=nodes).astype(np.float32)
    values = (degree[pairs[:, 0]] ** -0.5 * degree[pairs[:, 1]] ** -0.5).astype(np.float32)
    return pairs.T.copy(), values


def gcn(lib):
    nn = lib.nn
    F = nn.functional
    nodes, features, hidden, classes = 2708, 1433, 16, 7

    class GraphConv(nn.Module):
        def __init__(self, input_dim, output_dim, use_bias=False):
            super().__init__()
            self.kernel = nn.Parameter(lib.empty(input_dim, output_dim))
            nn.init.xavier_normal_(self.kernel)
            self.bias = nn.Parameter(lib.zeros(output_dim)) if use_bias else None

        def forward(self, input_tensor, adj_mat):
            support = lib.mm(input_tensor, self.kernel)
            output = lib.sparse.mm(adj_mat, support)
            if self.bias is not None:
                output = output + self.bias
            return output

    class GCN(nn.Module):
        def __init__(self, use_bias=True, dropout_p=0.5):
            super().__init__()
            self.gc1 = GraphConv(features, hidden, use_bias=use_bias)
            self.gc2 = GraphConv(hidden, classes, use_bias=use_bias)
            self.dropout = nn.Dropout(dropout_p)

        def forward(self, input_tensor, adj_mat):
            x = self.gc1(input_tensor, adj_mat)
            x = F.relu(x)
            x = self.dropout(x)
            x = self.gc2(x, adj_mat)
            return F.log_softmax(x, dim=1)

    rng = np.random.default_rng(0)
    bag = (rng.random((nodes, features)) < 0.0127).astype(np.float32)  # Cora: ~18 words of 1433 per paper
    bag /= np.maximum(bag.sum(1, keepdims=True), 1)  # row-normalised as the example does
    indices, values = _normalised_adjacency(nodes)
    adj = lib.sparse_coo_tensor(_tensor(lib, indices), _tensor(lib, values), (nodes, nodes)).coalesce()
    x = _tensor(lib, bag)
    labels = _tensor(lib, rng.integers(0, classes, nodes))
    idx_train = _tensor(lib, np.arange(140))  # Cora's split: 140 labelled nodes
    model = _same_weights(lib, GCN())
    model.train()
    optimizer = lib.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)

    return _train_step(optimizer, lambda: F.nll_loss(model(x, adj)[idx_train], labels[idx_train]))


# --- 8. seq2seq with attention (tutorial "NLP From Scratch: Translation with a Sequence to Sequence Network") --
def seq2seq_attention(lib):
    nn = lib.nn
    F = nn.functional
    input_vocab, output_vocab, hidden_size, batch, length, sos = 4345, 2803, 128, 32, 10, 0

    class EncoderRNN(nn.Module):
        def __init__(self, input_size, hidden_size, dropout_p=0.1):
            super().__init__()
            self.embedding = nn.Embedding(input_size, hidden_size)
            self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
            self.dropout = nn.Dropout(dropout_p)

        def forward(self, input):
            embedded = self.dropout(self.embedding(input))
            output, hidden = self.gru(embedded)
            return output, hidden

    class BahdanauAttention(nn.Module):
        def __init__(self, hidden_size):
            super().__init__()
            self.Wa = nn.Linear(hidden_size, hidden_size)
            self.Ua = nn.Linear(hidden_size, hidden_size)
            self.Va = nn.Linear(hidden_size, 1)

        def forward(self, query, keys):
            scores = self.Va(lib.tanh(self.Wa(query) + self.Ua(keys)))
            scores = scores.squeeze(2).unsqueeze(1)
            weights = F.softmax(scores, dim=-1)
            context = lib.bmm(weights, keys)
            return context, weights

    class AttnDecoderRNN(nn.Module):
        def __init__(self, hidden_size, output_size, dropout_p=0.1):
            super().__init__()
            self.embedding = nn.Embedding(output_size, hidden_size)
            self.attention = BahdanauAttention(hidden_size)
            self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
            self.out = nn.Linear(hidden_size, output_size)
            self.dropout = nn.Dropout(dropout_p)

        def forward(self, encoder_outputs, encoder_hidden, target_tensor):
            decoder_input = lib.empty(batch, 1, dtype=lib.long).fill_(sos)
            decoder_hidden = encoder_hidden
            decoder_outputs, attentions = [], []
            for i in range(length):
                decoder_output, decoder_hidden, attn_weights = self.forward_step(
                    decoder_input, decoder_hidden, encoder_outputs
                )
                decoder_outputs.append(decoder_output)
                attentions.append(attn_weights)
                decoder_input = target_tensor[:, i].unsqueeze(1)  # teacher forcing
            decoder_outputs = lib.cat(decoder_outputs, dim=1)
            decoder_outputs = F.log_softmax(decoder_outputs, dim=-1)
            return decoder_outputs, decoder_hidden, lib.cat(attentions, dim=1)

        def forward_step(self, input, hidden, encoder_outputs):
            embedded = self.dropout(self.embedding(input))
            query = hidden.permute(1, 0, 2)
            context, attn_weights = self.attention(query, encoder_outputs)
            input_gru = lib.cat((embedded, context), dim=2)
            output, hidden = self.gru(input_gru, hidden)
            output = self.out(output)
            return output, hidden, attn_weights

    rng = np.random.default_rng(0)
    input_tensor = _tensor(lib, rng.integers(1, input_vocab, (batch, length)))
    target_tensor = _tensor(lib, rng.integers(1, output_vocab, (batch, length)))
    encoder = _same_weights(lib, EncoderRNN(input_vocab, hidden_size))
    decoder = _same_weights(lib, AttnDecoderRNN(hidden_size, output_vocab))
    encoder_optimizer = lib.optim.Adam(encoder.parameters(), lr=0.001)
    decoder_optimizer = lib.optim.Adam(decoder.parameters(), lr=0.001)
    criterion = nn.NLLLoss()

    def step():
        encoder_optimizer.zero_grad()
        decoder_optimizer.zero_grad()
        encoder_outputs, encoder_hidden = encoder(input_tensor)
        decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden, target_tensor)
        loss = criterion(decoder_outputs.view(-1, decoder_outputs.size(-1)), target_tensor.view(-1))
        loss.backward()
        encoder_optimizer.step()
        decoder_optimizer.step()
        return loss

    return step


# --- 9. gat (pytorch/examples/gat/main.py), on a 1000-node graph: Cora's 2708 would make 8 x 2708^2 attention ---
def gat(lib):
    nn = lib.nn
    F = nn.functional
    nodes, features, hidden, heads, classes = 1000, 1433, 64, 8, 7

    class GraphAttentionLayer(nn.Module):
        def __init__(
            self, in_features, out_features, n_heads, concat=False, dropout=0.4, leaky_relu_slope=0.2
        ):
            super().__init__()
            self.n_heads, self.concat, self.dropout = n_heads, concat, dropout
            self.n_hidden = out_features // n_heads if concat else out_features
            self.W = nn.Parameter(lib.empty(size=(in_features, self.n_hidden * n_heads)))
            self.a = nn.Parameter(lib.empty(size=(n_heads, 2 * self.n_hidden, 1)))
            self.leakyrelu = nn.LeakyReLU(leaky_relu_slope)
            self.softmax = nn.Softmax(dim=1)
            nn.init.xavier_normal_(self.W)
            nn.init.xavier_normal_(self.a)

        def _get_attention_scores(self, h_transformed):
            source_scores = lib.matmul(h_transformed, self.a[:, : self.n_hidden, :])
            target_scores = lib.matmul(h_transformed, self.a[:, self.n_hidden :, :])
            e = source_scores + target_scores.mT  # (n_heads, n_nodes, n_nodes)
            return self.leakyrelu(e)

        def forward(self, h, adj_mat):
            n_nodes = h.shape[0]
            h_transformed = lib.mm(h, self.W)
            h_transformed = F.dropout(h_transformed, self.dropout, training=self.training)
            h_transformed = h_transformed.view(n_nodes, self.n_heads, self.n_hidden).permute(1, 0, 2)
            e = self._get_attention_scores(h_transformed)
            connectivity_mask = -9e16 * lib.ones_like(e)
            e = lib.where(adj_mat > 0, e, connectivity_mask)
            attention = F.softmax(e, dim=-1)
            attention = F.dropout(attention, self.dropout, training=self.training)
            h_prime = lib.matmul(attention, h_transformed)
            if self.concat:
                return h_prime.permute(1, 0, 2).contiguous().view(n_nodes, self.n_heads * self.n_hidden)
            return h_prime.mean(dim=0)

    class GAT(nn.Module):
        def __init__(self, dropout=0.6):
            super().__init__()
            self.gat1 = GraphAttentionLayer(features, hidden, heads, concat=True, dropout=dropout)
            self.gat2 = GraphAttentionLayer(hidden, classes, 1, concat=False, dropout=dropout)

        def forward(self, input_tensor, adj_mat):
            x = F.elu(self.gat1(input_tensor, adj_mat))
            return F.log_softmax(self.gat2(x, adj_mat), dim=1)

    rng = np.random.default_rng(0)
    bag = (rng.random((nodes, features)) < 0.0127).astype(np.float32)
    bag /= np.maximum(bag.sum(1, keepdims=True), 1)
    indices, _ = _normalised_adjacency(nodes, 1950)
    dense = np.zeros((nodes, nodes), np.float32)
    dense[indices[0], indices[1]] = 1.0
    adj = _tensor(lib, dense)  # the example's dense adjacency with self loops
    x = _tensor(lib, bag)
    labels = _tensor(lib, rng.integers(0, classes, nodes))
    idx_train = _tensor(lib, np.arange(140))
    model = _same_weights(lib, GAT())
    model.train()
    optimizer = lib.optim.Adam(model.parameters(), lr=0.005, weight_decay=5e-4)

    return _train_step(optimizer, lambda: F.nll_loss(model(x, adj)[idx_train], labels[idx_train]))


# --- 10. spatial transformer network (tutorial "Spatial Transformer Networks"): affine_grid + grid_sample -----
def spatial_transformer(lib):
    nn = lib.nn
    F = nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
            self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
            self.conv2_drop = nn.Dropout2d()
            self.fc1 = nn.Linear(320, 50)
            self.fc2 = nn.Linear(50, 10)
            self.localization = nn.Sequential(
                nn.Conv2d(1, 8, kernel_size=7),
                nn.MaxPool2d(2, stride=2),
                nn.ReLU(True),
                nn.Conv2d(8, 10, kernel_size=5),
                nn.MaxPool2d(2, stride=2),
                nn.ReLU(True),
            )
            self.fc_loc = nn.Sequential(nn.Linear(10 * 3 * 3, 32), nn.ReLU(True), nn.Linear(32, 3 * 2))

        def stn(self, x):
            xs = self.localization(x)
            xs = xs.view(-1, 10 * 3 * 3)
            theta = self.fc_loc(xs)
            theta = theta.view(-1, 2, 3)
            grid = F.affine_grid(theta, x.size(), align_corners=False)
            return F.grid_sample(x, grid, align_corners=False)

        def forward(self, x):
            x = self.stn(x)
            x = F.relu(F.max_pool2d(self.conv1(x), 2))
            x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
            x = x.view(-1, 320)
            x = F.relu(self.fc1(x))
            x = F.dropout(x, training=self.training)
            x = self.fc2(x)
            return F.log_softmax(x, dim=1)

    rng = np.random.default_rng(0)
    data = _tensor(lib, rng.standard_normal((64, 1, 28, 28), dtype=np.float32))
    target = _tensor(lib, rng.integers(0, 10, 64))
    model = _same_weights(lib, Net())
    model.fc_loc[2].weight.data.zero_()  # the identity transformation to start with, as the tutorial does
    model.fc_loc[2].bias.data.copy_(lib.tensor([1, 0, 0, 0, 1, 0], dtype=lib.float))
    model.train()
    optimizer = lib.optim.SGD(model.parameters(), lr=0.01)

    return _train_step(optimizer, lambda: F.nll_loss(model(data), target))


# --- 11. nn.Transformer translation (tutorial "Language Translation with nn.Transformer and torchtext") --------
def translation_transformer(lib):
    import math

    nn = lib.nn
    src_vocab, tgt_vocab, emb_size, nhead, ffn, layers, batch = 19215, 10838, 512, 8, 512, 3, 8
    pad_idx, bos_idx, eos_idx = 1, 2, 3

    class PositionalEncoding(nn.Module):
        def __init__(self, emb_size, dropout, maxlen=5000):
            super().__init__()
            den = lib.exp(-lib.arange(0, emb_size, 2) * math.log(10000) / emb_size)
            pos = lib.arange(0, maxlen).reshape(maxlen, 1)
            pos_embedding = lib.zeros((maxlen, emb_size))
            pos_embedding[:, 0::2] = lib.sin(pos * den)
            pos_embedding[:, 1::2] = lib.cos(pos * den)
            pos_embedding = pos_embedding.unsqueeze(-2)
            self.dropout = nn.Dropout(dropout)
            self.register_buffer("pos_embedding", pos_embedding)

        def forward(self, token_embedding):
            return self.dropout(token_embedding + self.pos_embedding[: token_embedding.size(0), :])

    class TokenEmbedding(nn.Module):
        def __init__(self, vocab_size, emb_size):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, emb_size)
            self.emb_size = emb_size

        def forward(self, tokens):
            return self.embedding(tokens.long()) * math.sqrt(self.emb_size)

    class Seq2SeqTransformer(nn.Module):
        def __init__(self, dropout=0.1):
            super().__init__()
            self.transformer = nn.Transformer(
                d_model=emb_size,
                nhead=nhead,
                num_encoder_layers=layers,
                num_decoder_layers=layers,
                dim_feedforward=ffn,
                dropout=dropout,
            )
            self.generator = nn.Linear(emb_size, tgt_vocab)
            self.src_tok_emb = TokenEmbedding(src_vocab, emb_size)
            self.tgt_tok_emb = TokenEmbedding(tgt_vocab, emb_size)
            self.positional_encoding = PositionalEncoding(emb_size, dropout=dropout)

        def forward(
            self, src, trg, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask, memory_key_padding_mask
        ):
            src_emb = self.positional_encoding(self.src_tok_emb(src))
            tgt_emb = self.positional_encoding(self.tgt_tok_emb(trg))
            outs = self.transformer(
                src_emb,
                tgt_emb,
                src_mask,
                tgt_mask,
                None,
                src_padding_mask,
                tgt_padding_mask,
                memory_key_padding_mask,
            )
            return self.generator(outs)

    def generate_square_subsequent_mask(sz):
        mask = (lib.triu(lib.ones((sz, sz))) == 1).transpose(0, 1)
        return mask.float().masked_fill(mask == 0, float("-inf")).masked_fill(mask == 1, 0.0)

    def create_mask(src, tgt):
        src_seq_len, tgt_seq_len = src.shape[0], tgt.shape[0]
        tgt_mask = generate_square_subsequent_mask(tgt_seq_len)
        src_mask = lib.zeros((src_seq_len, src_seq_len)).type(lib.bool)
        src_padding_mask = (src == pad_idx).transpose(0, 1)
        tgt_padding_mask = (tgt == pad_idx).transpose(0, 1)
        return src_mask, tgt_mask, src_padding_mask, tgt_padding_mask

    def padded_batch(rng, vocab, low, high):  # (length, batch) token ids: BOS, words, EOS, then padding
        lengths = rng.integers(low, high, batch)
        out = np.full((high + 2, batch), pad_idx, np.int64)
        for b, n in enumerate(lengths):
            out[: n + 2, b] = [bos_idx, *rng.integers(4, vocab, n), eos_idx]
        return out

    rng = np.random.default_rng(0)
    src = _tensor(lib, padded_batch(rng, src_vocab, 8, 20))
    tgt = _tensor(lib, padded_batch(rng, tgt_vocab, 8, 20))
    model = _same_weights(lib, Seq2SeqTransformer())
    model.train()
    optimizer = lib.optim.Adam(model.parameters(), lr=0.0001, betas=(0.9, 0.98), eps=1e-9)
    loss_fn = nn.CrossEntropyLoss(ignore_index=pad_idx)

    def step():
        tgt_input = tgt[:-1, :]
        src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input)
        logits = model(
            src, tgt_input, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask, src_padding_mask
        )
        optimizer.zero_grad()
        tgt_out = tgt[1:, :]
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
        loss.backward()
        optimizer.step()
        return loss

    return step


# --- 12. neural style transfer (tutorial "Neural Transfer Using PyTorch"): LBFGS on the image -------------------
def style_transfer(lib):
    nn = lib.nn
    F = nn.functional
    imsize, style_weight, content_weight = 56, 1000000, 1

    def gram_matrix(input):
        a, b, c, d = input.size()
        features = input.view(a * b, c * d)
        G = lib.mm(features, features.t())
        return G.div(a * b * c * d)

    class ContentLoss(nn.Module):
        def __init__(self, target):
            super().__init__()
            self.target = target.detach()

        def forward(self, input):
            self.loss = F.mse_loss(input, self.target)
            return input

    class StyleLoss(nn.Module):
        def __init__(self, target_feature):
            super().__init__()
            self.target = gram_matrix(target_feature).detach()

        def forward(self, input):
            G = gram_matrix(input)
            self.loss = F.mse_loss(G, self.target)
            return input

    class Normalization(nn.Module):
        def __init__(self, mean, std):
            super().__init__()
            self.mean = lib.tensor(mean).view(-1, 1, 1)
            self.std = lib.tensor(std).view(-1, 1, 1)

        def forward(self, img):
            return (img - self.mean) / self.std

    # VGG-19's features up to conv_5 (the last layer with a loss), random weights in place of the trained ones
    cnn = _same_weights(
        lib,
        nn.Sequential(
            nn.Conv2d(3, 64, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(64, 64, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2, 2),
            nn.Conv2d(64, 128, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 128, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2, 2),
            nn.Conv2d(128, 256, 3, padding=1),
        ),
    ).eval()
    rng = np.random.default_rng(0)
    style_img = _tensor(lib, rng.uniform(0, 1, (1, 3, imsize, imsize)).astype(np.float32))
    content_img = _tensor(lib, rng.uniform(0, 1, (1, 3, imsize, imsize)).astype(np.float32))
    content_layers, style_layers = ["conv_4"], ["conv_1", "conv_2", "conv_3", "conv_4", "conv_5"]
    normalization = Normalization([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    content_losses, style_losses = [], []
    model = nn.Sequential(normalization)
    i = 0
    for layer in cnn.children():
        if isinstance(layer, nn.Conv2d):
            i += 1
            name = f"conv_{i}"
        elif isinstance(layer, nn.ReLU):
            name = f"relu_{i}"
            layer = nn.ReLU(inplace=False)
        else:
            name = f"pool_{i}"
        model.add_module(name, layer)
        if name in content_layers:
            content_loss = ContentLoss(model(content_img).detach())
            model.add_module(f"content_loss_{i}", content_loss)
            content_losses.append(content_loss)
        if name in style_layers:
            style_loss = StyleLoss(model(style_img).detach())
            model.add_module(f"style_loss_{i}", style_loss)
            style_losses.append(style_loss)
    input_img = content_img.clone()
    input_img.requires_grad_(True)
    model.eval()
    model.requires_grad_(False)
    optimizer = lib.optim.LBFGS([input_img])

    def closure():
        with lib.no_grad():
            input_img.clamp_(0, 1)
        optimizer.zero_grad()
        model(input_img)
        style_score = 0
        content_score = 0
        for sl in style_losses:
            style_score += sl.loss
        for cl in content_losses:
            content_score += cl.loss
        style_score *= style_weight
        content_score *= content_weight
        loss = style_score + content_score
        loss.backward()
        return style_score + content_score

    def step():  # one optimizer.step: up to 20 evaluations of the closure (LBFGS's max_iter)
        return optimizer.step(closure)

    return step


# --- 13. names classification (tutorial "NLP From Scratch: Classifying Names with a Character-Level RNN") -------
def names_classification(lib):
    nn = lib.nn
    n_letters, n_hidden, n_categories, batch = 58, 128, 18, 64

    class CharRNN(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super().__init__()
            self.rnn = nn.RNN(input_size, hidden_size)
            self.h2o = nn.Linear(hidden_size, output_size)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, line_tensor):
            _rnn_out, hidden = self.rnn(line_tensor)
            output = self.h2o(hidden[0])
            return self.softmax(output)

    rng = np.random.default_rng(0)
    training_data = []
    for _ in range(batch):  # one-hot names of 3-12 letters, one (length, 1, n_letters) tensor each
        letters = rng.integers(0, n_letters, rng.integers(3, 13))
        one_hot = np.zeros((len(letters), 1, n_letters), np.float32)
        one_hot[np.arange(len(letters)), 0, letters] = 1
        training_data.append(
            (lib.tensor([int(rng.integers(0, n_categories))], dtype=lib.long), _tensor(lib, one_hot))
        )
    rnn = _same_weights(lib, CharRNN(n_letters, n_hidden, n_categories))
    criterion = nn.NLLLoss()
    optimizer = lib.optim.SGD(rnn.parameters(), lr=0.15)

    def step():  # one batch of the tutorial's loop: a forward per name, the losses summed, one backward
        batch_loss = 0
        for label_tensor, text_tensor in training_data:
            output = rnn.forward(text_tensor)
            loss = criterion(output, label_tensor)
            batch_loss += loss
        batch_loss.backward()
        nn.utils.clip_grad_norm_(rnn.parameters(), 3)
        optimizer.step()
        optimizer.zero_grad()
        return batch_loss

    return step


# --- 14. wgan_gp (the improved-WGAN critic step: a gradient penalty, so a second derivative) -------------------
def wgan_gp(lib):
    nn = lib.nn
    critic = _same_weights(lib, nn.Sequential(
        nn.Conv2d(3, 64, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(64, 128, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(128, 256, 4, 2, 1), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(256 * 4 * 4, 1)))
    optimizer = lib.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.5, 0.9))
    rng = np.random.default_rng(0)
    real, fake = (_tensor(lib, rng.standard_normal((32, 3, 32, 32)).astype(np.float32)) for _ in range(2))
    alpha = _tensor(lib, rng.uniform(0, 1, (32, 1, 1, 1)).astype(np.float32))

    def loss():
        interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        out = critic(interpolates)
        (gradients,) = lib.autograd.grad(out, interpolates, grad_outputs=lib.ones_like(out), create_graph=True,
                                         retain_graph=True)
        penalty = ((gradients.reshape(gradients.shape[0], -1).norm(2, dim=1) - 1) ** 2).mean() * 10
        return critic(fake).mean() - critic(real).mean() + penalty

    return _train_step(optimizer, loss)


PROGRAMS = {
    "text_classification": text_classification,
    "mnist": mnist,
    "mnist_rnn": mnist_rnn,
    "fast_neural_style": fast_neural_style,
    "super_resolution": super_resolution,
    "actor_critic": actor_critic,
    "gcn": gcn,
    "seq2seq_attention": seq2seq_attention,
    "gat": gat,
    "spatial_transformer": spatial_transformer,
    "translation_transformer": translation_transformer,
    "style_transfer": style_transfer,
    "names_classification": names_classification,
    "wgan_gp": wgan_gp,
}


# --- timing --------------------------------------------------------------------------------------------------
def _steps_per_round(step, target_seconds=0.25):
    start = time.process_time()
    step()
    return max(1, min(50, round(target_seconds / max(time.process_time() - start, 1e-6))))


def compare(name, ember, torch, rounds=7):
    """Per-step CPU ms of each framework in each round, Ember and torch interleaved."""
    steps = {}
    for lib in (ember, torch):
        lib.manual_seed(0)
        steps[lib.__name__] = PROGRAMS[name](lib)
    for step in steps.values():  # warm-up: numba compiles, first-touch allocations
        for _ in range(3):
            step()
    counts = {n: _steps_per_round(s) for n, s in steps.items()}
    times = {n: [] for n in steps}
    for _ in range(rounds):
        for n, step in steps.items():
            start = time.process_time()
            for _ in range(counts[n]):
                step()
            times[n].append((time.process_time() - start) * 1000 / counts[n])
    return times


def profile(name, ember, steps=None):
    import cProfile
    import pstats

    ember.manual_seed(0)
    step = PROGRAMS[name](ember)
    for _ in range(3):
        step()
    steps = steps or _steps_per_round(step, 2.0)
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(steps):
        step()
    profiler.disable()
    print(f"\ncProfile of Ember's {name} step, {steps} steps (CPU clock), top 15 by tottime")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("programs", nargs="*", default=list(PROGRAMS), help=f"some of {list(PROGRAMS)}")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="NAME",
        help="cProfile Ember's step of NAME (repeatable)",
    )
    parser.add_argument("--no-compare", action="store_true", help="only the profiles")
    args = parser.parse_args()
    unknown = set(args.programs + args.profile) - set(PROGRAMS)
    if unknown:
        parser.error(f"unknown programs {sorted(unknown)}; choose from {list(PROGRAMS)}")
    import warnings

    import ember
    import torch
    from ember.kernels import _blas

    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    _blas.openblas().set_threads(1)
    print(
        f"torch {torch.__version__} threads={torch.get_num_threads()}  load={os.getloadavg()[0]:.2f}  "
        f"CPU ms per step, {args.rounds} rounds, Ember and torch interleaved"
    )
    if not args.no_compare:
        print(
            f"{'program':<25}{'ember best':>11}{'med':>8}{'torch best':>11}{'med':>8}{'ratio best':>11}"
            f"{'med':>6}   per-round ratios"
        )
        for name in [] if args.programs == [] else args.programs:
            try:
                times = compare(name, ember, torch, args.rounds)
            except Exception as error:  # noqa: BLE001 (a failure in Ember is a finding: report it, go on)
                frame = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == __file__][-1]
                print(
                    f"{name:<25}FAILED at examples.py:{frame.lineno} ({frame.line}): {type(error).__name__}: {error}"
                )
                continue
            e, t = times["ember"], times["torch"]
            rounds = " ".join(f"{a / b:.2f}" for a, b in zip(e, t))
            print(
                f"{name:<25}{min(e):>11.2f}{statistics.median(e):>8.2f}{min(t):>11.2f}{statistics.median(t):>8.2f}"
                f"{min(e) / min(t):>11.2f}{statistics.median(e) / statistics.median(t):>6.2f}   {rounds}",
                flush=True,
            )
    for name in args.profile:
        profile(name, ember)


if __name__ == "__main__":
    main()
