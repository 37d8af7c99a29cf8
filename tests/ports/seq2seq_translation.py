"""Sequence to sequence with attention, after PyTorch's "NLP From Scratch: Translation with a Sequence to
Sequence Network and Attention" tutorial: a GRU encoder over packed variable-length batches, a Bahdanau
attention decoder with teacher forcing, greedy decoding with topk. The "language pair" is a toy one:
the target sentence is the source reversed."""

# ruff: noqa  (the tutorial's style)

import argparse
import random

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

SOS_token, EOS_token, PAD_token = 0, 1, 2
MAX_LENGTH = 8


class EncoderRNN(nn.Module):
    def __init__(self, input_size, hidden_size, dropout_p=0.1):
        super(EncoderRNN, self).__init__()
        self.hidden_size = hidden_size

        self.embedding = nn.Embedding(input_size, hidden_size, padding_idx=PAD_token)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, input, lengths):
        embedded = self.dropout(self.embedding(input))
        packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
        output, hidden = self.gru(packed)
        output, _ = pad_packed_sequence(output, batch_first=True, total_length=input.size(1))
        return output, hidden


class BahdanauAttention(nn.Module):
    def __init__(self, hidden_size):
        super(BahdanauAttention, self).__init__()
        self.Wa = nn.Linear(hidden_size, hidden_size)
        self.Ua = nn.Linear(hidden_size, hidden_size)
        self.Va = nn.Linear(hidden_size, 1)

    def forward(self, query, keys, mask):
        scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
        scores = scores.squeeze(2).unsqueeze(1)
        scores = scores.masked_fill(~mask.unsqueeze(1), float('-inf'))

        weights = F.softmax(scores, dim=-1)
        context = torch.bmm(weights, keys)

        return context, weights


class AttnDecoderRNN(nn.Module):
    def __init__(self, hidden_size, output_size, dropout_p=0.1):
        super(AttnDecoderRNN, self).__init__()
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.attention = BahdanauAttention(hidden_size)
        self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, output_size)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, encoder_outputs, encoder_hidden, mask, target_tensor=None):
        batch_size = encoder_outputs.size(0)
        decoder_input = torch.empty(batch_size, 1, dtype=torch.long).fill_(SOS_token)
        decoder_hidden = encoder_hidden
        decoder_outputs = []
        attentions = []

        for i in range(MAX_LENGTH):
            decoder_output, decoder_hidden, attn_weights = self.forward_step(
                decoder_input, decoder_hidden, encoder_outputs, mask
            )
            decoder_outputs.append(decoder_output)
            attentions.append(attn_weights)

            if target_tensor is not None:
                # Teacher forcing: Feed the target as the next input
                decoder_input = target_tensor[:, i].unsqueeze(1)  # Teacher forcing
            else:
                # Without teacher forcing: use its own predictions as the next input
                _, topi = decoder_output.topk(1)
                decoder_input = topi.squeeze(-1).detach()  # detach from history as input

        decoder_outputs = torch.cat(decoder_outputs, dim=1)
        decoder_outputs = F.log_softmax(decoder_outputs, dim=-1)
        attentions = torch.cat(attentions, dim=1)

        return decoder_outputs, decoder_hidden, attentions

    def forward_step(self, input, hidden, encoder_outputs, mask):
        embedded = self.dropout(self.embedding(input))

        query = hidden.permute(1, 0, 2)
        context, attn_weights = self.attention(query, encoder_outputs, mask)
        input_gru = torch.cat((embedded, context), dim=2)

        output, hidden = self.gru(input_gru, hidden)
        output = self.out(output)

        return output, hidden, attn_weights


def random_pairs(n, vocab, rng):
    pairs = []
    for _ in range(n):
        words = [rng.randrange(3, vocab) for _ in range(rng.randint(2, MAX_LENGTH - 1))]
        pairs.append((words, words[::-1]))
    return pairs


def to_batch(pairs):
    inputs = [torch.tensor(src + [EOS_token]) for src, _ in pairs]
    lengths = torch.tensor([len(t) for t in inputs])
    input_tensor = pad_sequence(inputs, batch_first=True, padding_value=PAD_token)
    target_tensor = torch.full((len(pairs), MAX_LENGTH), PAD_token, dtype=torch.long)
    for i, (_, tgt) in enumerate(pairs):
        target_tensor[i, :len(tgt) + 1] = torch.tensor(tgt + [EOS_token])
    return input_tensor, lengths, target_tensor


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--n-epochs', type=int, default=6)
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--hidden-size', type=int, default=32)
    parser.add_argument('--vocab', type=int, default=10)
    parser.add_argument('--learning-rate', type=float, default=0.01)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    rng = random.Random(0)

    pairs = random_pairs(128, args.vocab, rng)
    encoder = EncoderRNN(args.vocab, args.hidden_size)
    decoder = AttnDecoderRNN(args.hidden_size, args.vocab)
    encoder_optimizer = optim.Adam(encoder.parameters(), lr=args.learning_rate)
    decoder_optimizer = optim.Adam(decoder.parameters(), lr=args.learning_rate)
    criterion = nn.NLLLoss(ignore_index=PAD_token)

    losses = []
    for epoch in range(1, args.n_epochs + 1):
        rng.shuffle(pairs)
        total_loss = 0
        for start in range(0, len(pairs), args.batch_size):
            input_tensor, lengths, target_tensor = to_batch(pairs[start:start + args.batch_size])
            mask = input_tensor != PAD_token

            encoder_optimizer.zero_grad()
            decoder_optimizer.zero_grad()

            encoder_outputs, encoder_hidden = encoder(input_tensor, lengths)
            decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden, mask, target_tensor)

            loss = criterion(
                decoder_outputs.view(-1, decoder_outputs.size(-1)),
                target_tensor.view(-1)
            )
            loss.backward()

            encoder_optimizer.step()
            decoder_optimizer.step()
            total_loss += loss.item()
            losses.append(loss.item())
        print('epoch {} loss {:.4f}'.format(epoch, total_loss / (len(pairs) // args.batch_size)))

    # Greedy decoding of a few pairs.
    encoder.eval()
    decoder.eval()
    with torch.no_grad():
        input_tensor, lengths, target_tensor = to_batch(pairs[:4])
        encoder_outputs, encoder_hidden = encoder(input_tensor, lengths)
        decoder_outputs, _, attentions = decoder(encoder_outputs, encoder_hidden, input_tensor != PAD_token)
        _, decoded_ids = decoder_outputs.topk(1)
        assert attentions.shape == (4, MAX_LENGTH, input_tensor.size(1))
        for i in range(4):
            print(pairs[i][0], '->', decoded_ids[i].squeeze(-1).tolist())
    return losses


if __name__ == "__main__":
    main()
