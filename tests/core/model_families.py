"""The built-in model families in small configurations, shared by the export, ONNX and compile tests:
``FAMILIES[name]()`` gives ``(model, make)`` where ``make(batch)`` is an input of that batch size."""

from __future__ import annotations

import ember
import numpy as np
from ember import nn


class GRULanguageModel(nn.Module):
    """The GRU counterpart of ember.text's LSTMLanguageModel: embedding, GRU, decoder."""

    def __init__(self, vocab: int = 30, width: int = 8):
        super().__init__()
        self.encoder = nn.Embedding(vocab, width)
        self.rnn = nn.GRU(width, width, num_layers=2, batch_first=True)
        self.decoder = nn.Linear(width, vocab)

    def forward(self, idx):
        output, hidden = self.rnn(self.encoder(idx))
        return self.decoder(output), hidden


def _lenet():
    from ember.vision.models import lenet5

    return lenet5(), lambda b: ember.randn(b, 1, 28, 28)


def _resnet():
    from ember.vision.models import resnet18

    return resnet18(num_classes=5), lambda b: ember.randn(b, 3, 16, 16)


def _cifar_resnet():
    from ember.vision.models import resnet20

    return resnet20(num_classes=5), lambda b: ember.randn(b, 3, 8, 8)


def _vgg():
    from ember.vision.models.vgg import VGG, make_layers

    with ember.device("meta"):  # (VGG's 4096-wide classifier, 120M weights, is replaced below)
        model = VGG(make_layers([4, "M", 8, "M"]), num_classes=5, init_weights=False)
    model.features = make_layers([4, "M", 8, "M"], batch_norm=True)
    model.classifier = nn.Sequential(nn.Linear(8 * 7 * 7, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 5))
    return model, lambda b: ember.randn(b, 3, 16, 16)  # (a 4x4 map into the 7x7 adaptive pool: uneven windows)


def _vit():
    from ember.vision.models.vit import VisionTransformer

    model = VisionTransformer(image_size=16, patch_size=8, num_layers=2, num_heads=2, hidden_dim=8, mlp_dim=16,
                              num_classes=5)
    return model, lambda b: ember.randn(b, 3, 16, 16)


def _gpt():
    from ember.text.models import GPT

    return GPT(40, block_size=16, n_layer=2, n_head=2, n_embd=8), lambda b: ember.randint(0, 40, (b, 6))


def _lstm():
    from ember.text.models import LSTMLanguageModel

    return LSTMLanguageModel(30, 8, 8, num_layers=2), lambda b: ember.randint(0, 30, (b, 5))


def _gru():
    return GRULanguageModel(), lambda b: ember.randint(0, 30, (b, 5))


def _padded_ids(batch: int):
    """Token ids with a padded tail (id 0) of a different length in each row."""
    ids = np.random.default_rng(batch).integers(1, 30, (batch, 7))
    for row in range(batch):
        ids[row, 7 - row % 7:] = 0
    return ember.tensor(ids)


def _textcnn():
    from ember.text.models import TextClassifier

    model = TextClassifier(30, 3, embed_dim=8, pooling="cnn", num_filters=4)  # id 0 pads: masked in the graph
    return model, _padded_ids


def _text_mean():
    from ember.text.models import TextClassifier

    return TextClassifier(30, 3, embed_dim=8), _padded_ids


def _m5():
    from ember.audio.models import M5

    return M5(n_output=5, n_channel=4), lambda b: ember.randn(b, 1, 8000)


def _log_mel_cnn():
    from ember.audio.models import LogMelCNN

    model = LogMelCNN(5, sample_rate=8000, n_mels=8, channels=(4, 8), frontend=True)  # the spectrogram too
    return model, lambda b: ember.randn(b, 1, 2000)


FAMILIES = {"lenet5": _lenet, "resnet18": _resnet, "resnet20": _cifar_resnet, "vgg": _vgg, "vit": _vit,
            "gpt": _gpt, "lstm_lm": _lstm, "gru_lm": _gru, "textcnn": _textcnn, "text_classifier": _text_mean,
            "m5": _m5, "log_mel_cnn": _log_mel_cnn}


def first(out):
    """A model's first output (the GRU / LSTM models also return their hidden state)."""
    return out[0] if isinstance(out, tuple) else out
