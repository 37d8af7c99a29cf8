"""M5 (Dai et al., 2017, "Very deep convolutional neural networks for raw waveforms"): a 1-D CNN on raw audio."""

from __future__ import annotations

from ember import Tensor, nn


class M5(nn.Module):
    """M5 raw-waveform classifier, as in torchaudio's speech-command tutorial: a wide strided first
    convolution (kernel 80, ``stride``) followed by three 3-tap convolutions, each with batch norm, ReLU and
    4x max pooling, then global average pooling and a linear layer.

    Input ``(batch, n_input, time)`` (or ``(batch, time)`` for mono); output **logits** ``(batch, n_output)``
    (the tutorial's version applies ``log_softmax``; use ``cross_entropy`` on these instead).

    Args:
        n_input: input channels. n_output: classes. stride: stride of the first convolution.
        n_channel: channels of the first two convolutions (the last two have twice as many).

    Example:
        >>> model = M5(n_output=5, stride=4)
        >>> model(ember.randn(2, 1, 8000)).shape
        ember.Size([2, 5])
    """

    def __init__(self, n_input: int = 1, n_output: int = 35, stride: int = 16, n_channel: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(n_input, n_channel, kernel_size=80, stride=stride)
        self.bn1 = nn.BatchNorm1d(n_channel)
        self.pool1 = nn.MaxPool1d(4)
        self.conv2 = nn.Conv1d(n_channel, n_channel, kernel_size=3)
        self.bn2 = nn.BatchNorm1d(n_channel)
        self.pool2 = nn.MaxPool1d(4)
        self.conv3 = nn.Conv1d(n_channel, 2 * n_channel, kernel_size=3)
        self.bn3 = nn.BatchNorm1d(2 * n_channel)
        self.pool3 = nn.MaxPool1d(4)
        self.conv4 = nn.Conv1d(2 * n_channel, 2 * n_channel, kernel_size=3)
        self.bn4 = nn.BatchNorm1d(2 * n_channel)
        self.pool4 = nn.MaxPool1d(4)
        self.fc1 = nn.Linear(2 * n_channel, n_output)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 2:
            x = x.unsqueeze(1)
        x = self.pool1(self.bn1(self.conv1(x)).relu())
        x = self.pool2(self.bn2(self.conv2(x)).relu())
        x = self.pool3(self.bn3(self.conv3(x)).relu())
        x = self.pool4(self.bn4(self.conv4(x)).relu())
        return self.fc1(x.mean(-1))
