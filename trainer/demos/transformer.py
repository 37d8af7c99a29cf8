"""Lightning's ``demos.transformer``: a word-level Transformer language model (pytorch/examples'
word_language_model) and ``WikiText2``, a text file read as one stream of word ids cut into blocks."""

from __future__ import annotations

import math
import os
from pathlib import Path

import ember
import ember.nn.functional as F
from ember import nn
from ember.data import DataLoader, Dataset

from ..module import TrainingModule

_WIKITEXT2_URL = "https://raw.githubusercontent.com/pytorch/examples/main/word_language_model/data/wikitext-2/train.txt"


class Transformer(nn.Module):
    """Embedding + positional encoding, ``nn.Transformer`` (batch first) and a linear decoder to
    log-probabilities over the vocabulary. ``forward(inputs, target)`` returns them flattened to
    ``(batch * length, vocab_size)``; the decoder sees ``target`` under a causal mask."""

    def __init__(self, vocab_size: int = 33278, ninp: int = 200, nhead: int = 2, nhid: int = 200, nlayers: int = 2,
                 dropout: float = 0.2) -> None:
        super().__init__()
        self.pos_encoder = PositionalEncoding(ninp, dropout)
        self.embedding = nn.Embedding(vocab_size, ninp)
        self.transformer = nn.Transformer(d_model=ninp, nhead=nhead, num_encoder_layers=nlayers,
                                          num_decoder_layers=nlayers, dim_feedforward=nhid, dropout=dropout,
                                          batch_first=True)
        self.decoder = nn.Linear(ninp, vocab_size)
        self.ninp = ninp
        self.vocab_size = vocab_size
        self.src_mask: ember.Tensor | None = None

    def generate_square_subsequent_mask(self, size: int) -> ember.Tensor:
        """0 on and below the diagonal, -inf above: position i sees positions <= i."""
        mask = ember.triu(ember.ones(size, size), diagonal=1)
        return mask.masked_fill(mask == 1, float("-inf"))

    def forward(self, inputs: ember.Tensor, target: ember.Tensor, mask: ember.Tensor | None = None) -> ember.Tensor:
        length = inputs.shape[1]
        if self.src_mask is None or self.src_mask.size(0) != length:
            self.src_mask = self.generate_square_subsequent_mask(length)
        if mask is None:
            mask = self.generate_square_subsequent_mask(length)
        src = self.pos_encoder(self.embedding(inputs) * math.sqrt(self.ninp))
        target = self.pos_encoder(self.embedding(target) * math.sqrt(self.ninp))
        output = self.decoder(self.transformer(src, target, tgt_mask=mask))
        return F.log_softmax(output, dim=-1).view(-1, self.vocab_size)


class PositionalEncoding(nn.Module):
    """Adds a sinusoidal encoding, then dropout. As in Lightning's demo, every position gets the encoding of
    position ``length`` (the demo indexes the table with the sequence length, not a slice of it)."""

    def __init__(self, dim: int, dropout: float = 0.1, max_len: int = 5000) -> None:
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        self.dim = dim
        self.max_len = max_len
        self.pe: ember.Tensor | None = None  # built on first use (not a buffer, as in Lightning)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        if self.pe is None:
            self.pe = self._init_pos_encoding()
        return self.dropout(x + self.pe[:, x.size(1)])

    def _init_pos_encoding(self) -> ember.Tensor:
        position = ember.arange(0, self.max_len, dtype=ember.float32).unsqueeze(1)
        div_term = ember.exp(ember.arange(0, self.dim, 2).float() * (-math.log(10000.0) / self.dim))
        pe = ember.zeros(self.max_len, self.dim)
        pe[:, 0::2] = ember.sin(position * div_term)
        pe[:, 1::2] = ember.cos(position * div_term)
        return pe.unsqueeze(0)


class Dictionary:
    """Words to ids in order of first appearance."""

    def __init__(self) -> None:
        self.word2idx: dict[str, int] = {}
        self.idx2word: list[str] = []

    def add_word(self, word: str) -> int:
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]

    def __len__(self) -> int:
        return len(self.idx2word)


def tokenize(path: str | os.PathLike) -> tuple[ember.Tensor, Dictionary]:
    """The file's words (each line ended by ``<eos>``) as one int64 tensor of ids, and the dictionary."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"tokenize: no such file {os.fspath(path)!r}")
    dictionary = Dictionary()
    with open(path, encoding="utf8") as f:
        ids = [dictionary.add_word(word) for line in f for word in [*line.split(), "<eos>"]]
    return ember.tensor(ids, dtype=ember.int64), dictionary


class WikiText2(Dataset):
    """``data_dir/wikitext-2.txt`` (downloaded from pytorch/examples when ``download`` and missing) as
    ``(inputs, target)`` blocks of ``block_size`` word ids, the target shifted by one word."""

    def __init__(self, data_dir: Path = Path("./data"), block_size: int = 35, download: bool = True) -> None:
        super().__init__()
        self.path = Path(data_dir) / "wikitext-2.txt"
        if download:
            self.download(self.path)
        self.data, self.dictionary = tokenize(self.path)
        self.block_size = block_size

    @property
    def vocab_size(self) -> int:
        return len(self.dictionary)

    def __len__(self) -> int:
        return len(self.data) // self.block_size - 1

    def __getitem__(self, index: int) -> tuple[ember.Tensor, ember.Tensor]:
        start = index * self.block_size
        end = start + self.block_size
        return self.data[start:end], self.data[start + 1:end + 1]

    @staticmethod
    def download(destination: Path) -> None:
        if os.path.exists(destination):
            return
        from ember.hub import download_url_to_file

        os.makedirs(Path(destination).parent, exist_ok=True)
        download_url_to_file(_WIKITEXT2_URL, os.fspath(destination), progress=False)


class LightningTransformer(TrainingModule):
    """``Transformer`` trained on ``WikiText2`` by SGD (lr 0.1) with the NLL loss."""

    def __init__(self, vocab_size: int = 33278) -> None:
        super().__init__()
        self.model = Transformer(vocab_size=vocab_size)

    def forward(self, inputs: ember.Tensor, target: ember.Tensor) -> ember.Tensor:
        return self.model(inputs, target)

    def training_step(self, batch: tuple[ember.Tensor, ember.Tensor], batch_idx: int) -> ember.Tensor:
        inputs, target = batch
        return F.nll_loss(self(inputs, target), target.view(-1))

    def configure_optimizers(self):
        return ember.optim.SGD(self.model.parameters(), lr=0.1)

    def prepare_data(self) -> None:
        WikiText2(download=True)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(WikiText2())
