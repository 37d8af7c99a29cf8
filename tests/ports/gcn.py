"""Graph convolutional network, after pytorch/examples gcn/main.py (Kipf & Welling, ICLR 2017).

A planted-partition graph instead of Cora; the normalised adjacency is a dense matrix built from an edge
list, or (``--model sparse``) a sparse COO matrix propagated with torch.sparse.mm, as Kipf's pygcn and
pytorch_geometric's gcn_norm build it; a third model aggregates messages with index_add_.
"""

# ruff: noqa  (the code keeps pytorch/examples' style: super(Cls, self), str.format, torch.nn as nn)

import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim


def planted_partition(num_nodes, num_classes, num_features, p_in, p_out, generator):
    """Nodes in classes, edges mostly inside a class, features a noisy class signature."""
    labels = torch.randint(0, num_classes, (num_nodes,), generator=generator)
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    probs = torch.where(same, torch.tensor(p_in), torch.tensor(p_out))
    upper = torch.triu(torch.rand(num_nodes, num_nodes, generator=generator) < probs, diagonal=1)
    edge_index = upper.nonzero().t()
    edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)  # undirected
    signatures = torch.randn(num_classes, num_features, generator=generator)
    features = signatures[labels] + 2.0 * torch.randn(num_nodes, num_features, generator=generator)
    return features, labels, edge_index


def normalized_adjacency(edge_index, num_nodes):
    """D^-1/2 (A + I) D^-1/2 as a dense matrix."""
    adj = torch.zeros(num_nodes, num_nodes)
    adj[edge_index[0], edge_index[1]] = 1.0
    adj = adj + torch.eye(num_nodes)
    deg = adj.sum(dim=1)
    deg_inv_sqrt = deg.pow(-0.5)
    deg_inv_sqrt[torch.isinf(deg_inv_sqrt)] = 0
    return deg_inv_sqrt.view(-1, 1) * adj * deg_inv_sqrt.view(1, -1)


def sparse_normalized_adjacency(edge_index, num_nodes):
    """D^-1/2 (A + I) D^-1/2 as a sparse COO matrix (Kipf's pygcn, pytorch_geometric's gcn_norm)."""
    loops = torch.arange(num_nodes).repeat(2, 1)
    index = torch.cat([edge_index, loops], dim=1)
    adj = torch.sparse_coo_tensor(index, torch.ones(index.size(1)), (num_nodes, num_nodes)).coalesce()
    deg = torch.sparse.sum(adj, dim=1).to_dense()
    deg_inv_sqrt = deg.pow(-0.5)
    row, col = adj.indices()
    values = deg_inv_sqrt[row] * adj.values() * deg_inv_sqrt[col]
    return torch.sparse_coo_tensor(adj.indices(), values, adj.shape)


class GraphConv(nn.Module):
    """Graph convolution layer: H' = A_hat H W (+ b)."""

    def __init__(self, input_dim, output_dim, use_bias=False):
        super(GraphConv, self).__init__()
        self.kernel = nn.Parameter(torch.FloatTensor(input_dim, output_dim))
        nn.init.xavier_normal_(self.kernel)
        self.bias = None
        if use_bias:
            self.bias = nn.Parameter(torch.FloatTensor(output_dim))
            nn.init.zeros_(self.bias)

    def forward(self, input_tensor, adj_mat):
        support = torch.mm(input_tensor, self.kernel)
        if adj_mat.is_sparse:
            output = torch.sparse.mm(adj_mat, support)
        else:
            output = torch.mm(adj_mat, support)
        if self.bias is not None:
            output = output + self.bias
        return output


class GCN(nn.Module):
    def __init__(self, input_dim, hidden_dim, output_dim, use_bias=True, dropout_p=0.1):
        super(GCN, self).__init__()
        self.gc1 = GraphConv(input_dim, hidden_dim, use_bias=use_bias)
        self.gc2 = GraphConv(hidden_dim, output_dim, use_bias=use_bias)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, input_tensor, adj_mat):
        x = self.gc1(input_tensor, adj_mat)
        x = F.relu(x)
        x = self.dropout(x)
        x = self.gc2(x, adj_mat)
        return F.log_softmax(x, dim=1)


class MessagePassingConv(nn.Module):
    """The same layer as scatter-style message passing: each edge sends norm * x_src to its target."""

    def __init__(self, input_dim, output_dim):
        super().__init__()
        self.linear = nn.Linear(input_dim, output_dim)

    def forward(self, x, edge_index):
        num_nodes = x.size(0)
        loops = torch.arange(num_nodes).repeat(2, 1)
        src, dst = torch.cat([edge_index, loops], dim=1)
        deg = torch.zeros(num_nodes).index_add_(0, dst, torch.ones(dst.size(0)))
        norm = deg[src].rsqrt() * deg[dst].rsqrt()
        h = self.linear(x)
        return torch.zeros_like(h).index_add_(0, dst, h[src] * norm.unsqueeze(-1))


class MessagePassingGCN(nn.Module):
    def __init__(self, input_dim, hidden_dim, output_dim, dropout_p=0.1):
        super().__init__()
        self.conv1 = MessagePassingConv(input_dim, hidden_dim)
        self.conv2 = MessagePassingConv(hidden_dim, output_dim)
        self.dropout_p = dropout_p

    def forward(self, x, edge_index):
        x = F.relu(self.conv1(x, edge_index))
        x = F.dropout(x, p=self.dropout_p, training=self.training)
        return F.log_softmax(self.conv2(x, edge_index), dim=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description='PyTorch Graph Convolutional Network')
    parser.add_argument('--model', default='dense', choices=['dense', 'sparse', 'message_passing'])
    parser.add_argument('--epochs', type=int, default=30, help='number of epochs to train (default: 30)')
    parser.add_argument('--lr', type=float, default=0.01, help='learning rate (default: 0.01)')
    parser.add_argument('--l2', type=float, default=5e-4, help='weight decay (default: 5e-4)')
    parser.add_argument('--dropout-p', type=float, default=0.5, help='dropout probability (default: 0.5)')
    parser.add_argument('--hidden-dim', type=int, default=16, help='dimension of the hidden representation')
    parser.add_argument('--val-every', type=int, default=10, help='epochs to wait between validations')
    parser.add_argument('--include-bias', action='store_true', default=False, help='use bias in GraphConv')
    parser.add_argument('--no-accel', action='store_true', default=False, help='disables accelerated training')
    parser.add_argument('--seed', type=int, default=42, metavar='S', help='random seed (default: 42)')
    args = parser.parse_args(argv)

    use_accel = not args.no_accel and torch.accelerator.is_available()
    torch.manual_seed(args.seed)
    if use_accel:
        device = torch.accelerator.current_accelerator()
    else:
        device = torch.device('cpu')
    print(f'Using {device} device')

    generator = torch.Generator().manual_seed(args.seed)
    features, labels, edge_index = planted_partition(120, 3, 16, 0.1, 0.01, generator)
    features, labels, edge_index = features.to(device), labels.to(device), edge_index.to(device)
    adj_mat = normalized_adjacency(edge_index, features.size(0))
    perm = torch.randperm(features.size(0), generator=generator)
    idx_train, idx_val, idx_test = perm[:40], perm[40:80], perm[80:]

    num_classes = int(labels.max().item()) + 1
    if args.model == 'dense':
        gcn = GCN(features.shape[1], args.hidden_dim, num_classes, args.include_bias, args.dropout_p).to(device)
        graph = adj_mat
    elif args.model == 'sparse':
        gcn = GCN(features.shape[1], args.hidden_dim, num_classes, args.include_bias, args.dropout_p).to(device)
        graph = sparse_normalized_adjacency(edge_index, features.size(0))
    else:
        gcn = MessagePassingGCN(features.shape[1], args.hidden_dim, num_classes, args.dropout_p).to(device)
        graph = edge_index
    optimizer = optim.Adam(gcn.parameters(), lr=args.lr, weight_decay=args.l2)
    criterion = nn.NLLLoss()

    def train_iter(epoch, model, optimizer, criterion, input, target, mask_train, mask_val, print_every=10):
        start_t = time.time()
        model.train()
        optimizer.zero_grad()

        # Forward pass
        output = model(*input)
        loss = criterion(output[mask_train], target[mask_train])  # Compute the loss using the training mask

        loss.backward()
        optimizer.step()

        # Evaluate the model performance on training and validation sets
        loss_train, acc_train = test(model, criterion, input, target, mask_train)
        loss_val, acc_val = test(model, criterion, input, target, mask_val)

        if epoch % print_every == 0:
            # Print the training progress at specified intervals
            print(f'Epoch: {epoch:04d} ({(time.time() - start_t):.4f}s) loss_train: {loss_train:.4f} '
                  f'acc_train: {acc_train:.4f} loss_val: {loss_val:.4f} acc_val: {acc_val:.4f}')
        return loss.item()

    def test(model, criterion, input, target, mask):
        model.eval()
        with torch.no_grad():
            output = model(*input)
            output, target = output[mask], target[mask]

            loss = criterion(output, target)
            acc = (output.argmax(dim=1) == target).float().sum() / len(target)
        return loss.item(), acc.item()

    losses = []
    for epoch in range(args.epochs):
        losses.append(train_iter(epoch + 1, gcn, optimizer, criterion, (features, graph), labels,
                                 idx_train, idx_val, args.val_every))

    loss_test, acc_test = test(gcn, criterion, (features, graph), labels, idx_test)
    print(f'Test set results: loss {loss_test:.4f} accuracy {acc_test:.4f}')
    assert acc_test > 0.5, acc_test
    return losses


if __name__ == "__main__":
    main()
