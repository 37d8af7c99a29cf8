"""Reading and writing audio files (WAV, FLAC, OGG/Vorbis and the other libsndfile formats) via soundfile.

``soundfile`` is imported on first use, never by ``import ember``. Signatures follow torchaudio's
``load`` / ``save`` / ``info``: waveforms are ``Tensor[channels, time]`` (``channels_first=True``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import ember
import numpy as np
from ember import Tensor


def _soundfile():
    try:
        import soundfile
    except ImportError as error:  # pragma: no cover - soundfile is a dependency
        raise ImportError("ember.audio's IO needs the 'soundfile' package (pip install soundfile)") from error
    return soundfile


@dataclass
class AudioMetaData:
    """What :func:`info` reports about an audio file (torchaudio's fields plus libsndfile's names).

    Attributes:
        sample_rate: frames per second. num_frames: frames in the file. num_channels: channels.
        bits_per_sample: bits of one sample (0 for compressed formats such as Vorbis).
        encoding: torchaudio's name: ``PCM_S``, ``PCM_U``, ``PCM_F``, ``FLAC``, ``VORBIS``, ...
        format: container (``WAV``, ``FLAC``, ``OGG``, ...). subtype: libsndfile subtype (``PCM_16``, ...).
    """

    sample_rate: int
    num_frames: int
    num_channels: int
    bits_per_sample: int
    encoding: str
    format: str = ""
    subtype: str = ""


_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32, "DOUBLE": 64,
         "ULAW": 8, "ALAW": 8}


def _encoding(fmt: str, subtype: str) -> str:
    if fmt == "FLAC":
        return "FLAC"
    if subtype in ("VORBIS", "OPUS"):
        return subtype
    if subtype in ("PCM_S8", "PCM_16", "PCM_24", "PCM_32"):
        return "PCM_S"
    return {"PCM_U8": "PCM_U", "FLOAT": "PCM_F", "DOUBLE": "PCM_F", "ULAW": "ULAW", "ALAW": "ALAW",
            "MPEG_LAYER_III": "MP3"}.get(subtype, subtype)


def _open_error(uri, error: Exception) -> Exception:
    if hasattr(uri, "read"):
        return RuntimeError(f"{_name(uri)}: cannot read audio: {error}")
    if isinstance(error, FileNotFoundError) or not os.path.exists(_name(uri)):
        return FileNotFoundError(f"{_name(uri)}: no such audio file")
    return RuntimeError(f"{_name(uri)}: cannot read audio: {error}")


def _name(uri) -> str:
    """How errors name the source: the path, or a file-like object's ``name`` if it has one."""
    if hasattr(uri, "read") or hasattr(uri, "write"):
        name = getattr(uri, "name", None)
        return f"{name} (file-like object)" if isinstance(name, str) else "<file-like object>"
    return os.fspath(uri) if isinstance(uri, os.PathLike) else str(uri)


def _readable(uri):
    """A path as a string, or a seekable binary file object: a stream that cannot seek (an HTTP response, a
    pipe) is read to its end into memory, as libsndfile seeks in what it decodes."""
    if not hasattr(uri, "read"):
        return os.fspath(uri) if isinstance(uri, os.PathLike) else str(uri)
    seekable = getattr(uri, "seekable", None)
    if seekable is not None and seekable():
        return uri
    import io

    return io.BytesIO(uri.read())


def _declared_wav_frames(source) -> int | None:
    """Frames the RIFF/WAVE header's ``data`` chunk declares (None if unknown or streamed); ``source`` is a
    path or a seekable binary file object (read from its current position, which is restored).

    libsndfile silently shortens a WAV whose data chunk is cut off; comparing with the declared size is how
    a truncated file is told apart from a short one."""
    if not isinstance(source, str):
        start = source.tell()
        try:
            return _declared_wav_frames_in(source)
        finally:
            source.seek(start)
    try:
        with open(source, "rb") as fh:
            return _declared_wav_frames_in(fh)
    except OSError:
        return None


def _declared_wav_frames_in(fh) -> int | None:
    import struct

    try:
        if fh.read(4) != b"RIFF":
            return None
        fh.read(4)
        if fh.read(4) != b"WAVE":
            return None
        block_align = None
        while True:
            header = fh.read(8)
            if len(header) < 8:
                return None
            chunk_id, size = header[:4], struct.unpack("<I", header[4:])[0]
            if chunk_id == b"fmt ":
                fmt = fh.read(size)
                block_align = struct.unpack("<H", fmt[12:14])[0] if len(fmt) >= 14 else None
                if size % 2:
                    fh.read(1)
            elif chunk_id == b"data":
                if not block_align or size in (0, 0xFFFFFFFF):
                    return None
                return size // block_align
            else:
                fh.seek(size + (size % 2), 1)
    except (OSError, ValueError):
        return None


@dataclass
class _Meta:  # soundfile.info's fields, for a file-like object
    samplerate: int
    frames: int
    channels: int
    format: str
    subtype: str


def info(uri, format: str | None = None) -> AudioMetaData:
    """Metadata of an audio file (a path or a binary file-like object), without decoding the samples.

    Example:
        >>> meta = info("speech.wav")  # doctest: +SKIP
        >>> meta.sample_rate, meta.num_channels, meta.encoding  # doctest: +SKIP
        (16000, 1, 'PCM_S')
    """
    sf = _soundfile()
    source = _readable(uri)
    try:
        if isinstance(source, str):
            meta = sf.info(source) if format is None else sf.info(source, format=format.upper())
        else:  # (sf.info takes paths only)
            start = source.tell()
            try:
                with sf.SoundFile(source) if format is None else sf.SoundFile(source, format=format.upper()) as f:
                    meta = _Meta(f.samplerate, f.frames, f.channels, f.format, f.subtype)
            finally:
                source.seek(start)
    except Exception as error:
        raise _open_error(uri, error) from error
    return AudioMetaData(int(meta.samplerate), int(meta.frames), int(meta.channels), _BITS.get(meta.subtype, 0),
                         _encoding(meta.format, meta.subtype), meta.format, meta.subtype)


def load(uri, frame_offset: int = 0, num_frames: int = -1, normalize: bool = True, channels_first: bool = True,
         format: str | None = None) -> tuple[Tensor, int]:
    """Loads an audio file as ``(waveform, sample_rate)``.

    Args:
        uri: path of the file, or a binary file-like object (an open file, ``io.BytesIO``, a member of a
            tar archive, an HTTP response; one that cannot seek is read to its end first).
        frame_offset: frames to skip at the start. num_frames: frames to read (-1: to the end).
        normalize: True gives float32 in [-1, 1]. False gives a WAV file's integer samples as stored (int16
            for 16-bit, int32 for 24/32-bit with 24-bit samples in the high bits, uint8 for 8-bit); float
            and compressed files always come back as float32.
        channels_first: ``(channels, time)`` if True, else ``(time, channels)``.

    Raises:
        FileNotFoundError / RuntimeError naming the file when it is missing, truncated or not audio.

    Example:
        >>> waveform, sample_rate = load("speech.wav")  # doctest: +SKIP
        >>> waveform.shape  # doctest: +SKIP
        ember.Size([1, 16000])
    """
    sf = _soundfile()
    path = _name(uri)
    if frame_offset < 0:
        raise ValueError(f"frame_offset must be >= 0, got {frame_offset}")
    source = _readable(uri)
    start = None if isinstance(source, str) else source.tell()
    try:
        with sf.SoundFile(source) if format is None else sf.SoundFile(source, format=format.upper()) as f:
            subtype = f.subtype
            dtype = "float32"
            if not normalize and f.format in ("WAV", "WAVEX", "RF64", "W64"):
                dtype = {"PCM_16": "int16", "PCM_24": "int32", "PCM_32": "int32", "PCM_U8": "int16"}.get(subtype,
                                                                                                        "float32")
            declared = None
            if f.format == "WAV":
                if isinstance(source, str):
                    declared = _declared_wav_frames(source)
                else:  # (libsndfile has read past the header: from where the object started)
                    position = source.tell()
                    source.seek(start)
                    declared = _declared_wav_frames(source)
                    source.seek(position)
            if declared is not None and declared > f.frames:
                raise RuntimeError(f"{path}: truncated WAV file: the header declares {declared} frames, "
                                   f"the file holds {f.frames}")
            available = f.frames - frame_offset if f.frames >= 0 else -1
            if frame_offset:
                f.seek(frame_offset)
            count = -1 if num_frames < 0 else (min(num_frames, available) if available >= 0 else num_frames)
            data = f.read(frames=count, dtype=dtype, always_2d=True)
            sample_rate = int(f.samplerate)
            expected = available if count < 0 else count
    except RuntimeError as error:
        if str(error).startswith(path):
            raise
        raise _open_error(uri, error) from error
    except Exception as error:
        raise _open_error(uri, error) from error
    if expected >= 0 and data.shape[0] < expected:
        raise RuntimeError(
            f"{path}: truncated audio file: header promises {expected} frames from offset {frame_offset}, "
            f"only {data.shape[0]} could be read"
        )
    if dtype == "int16" and subtype == "PCM_U8":
        data = ((data.astype(np.int32) >> 8) + 128).astype(np.uint8)
    data = np.ascontiguousarray(data.T if channels_first else data)
    return ember.from_numpy(data), sample_rate


_SUBTYPES = {
    ("PCM_S", 8): "PCM_S8", ("PCM_S", 16): "PCM_16", ("PCM_S", 24): "PCM_24", ("PCM_S", 32): "PCM_32",
    ("PCM_U", 8): "PCM_U8", ("PCM_F", 32): "FLOAT", ("PCM_F", 64): "DOUBLE", ("ULAW", 8): "ULAW",
    ("ALAW", 8): "ALAW",
}


def _choose_subtype(fmt: str, data: np.ndarray, encoding: str | None, bits_per_sample: int | None) -> str | None:
    if fmt == "OGG":
        return "VORBIS"
    if fmt == "MP3":
        return "MPEG_LAYER_III"
    if fmt == "NIST" and encoding is None and bits_per_sample is None:
        return "PCM_32"  # (NIST SPHERE has no float samples; torchaudio's default for "sph")
    if fmt == "FLAC":
        bits = bits_per_sample or 24
        if bits not in (8, 16, 24):
            raise ValueError(f"FLAC supports 8, 16 or 24 bits per sample, got {bits_per_sample}")
        return {8: "PCM_S8", 16: "PCM_16", 24: "PCM_24"}[bits]
    if encoding is None:
        if bits_per_sample is None:
            kind = data.dtype
            return {np.dtype(np.int16): "PCM_16", np.dtype(np.int32): "PCM_32", np.dtype(np.uint8): "PCM_U8",
                    np.dtype(np.float64): "DOUBLE"}.get(kind, "FLOAT")
        encoding = "PCM_F" if (data.dtype.kind == "f" and bits_per_sample in (32, 64)) else "PCM_S"
        if bits_per_sample == 8 and encoding == "PCM_S" and fmt in ("WAV", "WAVEX"):
            encoding = "PCM_U"  # 8-bit WAV is unsigned
    bits = bits_per_sample or {"PCM_F": 32, "PCM_S": 16, "PCM_U": 8, "ULAW": 8, "ALAW": 8}.get(encoding, 16)
    key = (encoding, bits)
    if key not in _SUBTYPES:
        raise ValueError(f"unsupported encoding/bits_per_sample combination {encoding}/{bits}")
    return _SUBTYPES[key]


def save(uri, src: Tensor, sample_rate: int, channels_first: bool = True, format: str | None = None,
         encoding: str | None = None, bits_per_sample: int | None = None, compression: float | None = None) -> None:
    """Writes ``src`` (``(channels, time)`` if ``channels_first``) to an audio file.

    ``uri`` is a path or a binary file-like object (then ``format`` is required, as in torchaudio). The format
    comes from ``format`` or the file extension (wav, flac, ogg / vorbis, mp3, sph, ...). For WAV the default encoding
    follows the tensor's dtype (float32 -> 32-bit float, int16 -> 16-bit PCM, int32 -> 32-bit PCM, uint8 ->
    8-bit); ``bits_per_sample`` (8/16/24/32/64) and ``encoding`` ("PCM_S", "PCM_U", "PCM_F", "ULAW",
    "ALAW") override it. FLAC defaults to 24 bits. Float samples are clipped to [-1, 1] for integer encodings.
    ``compression`` is libsndfile's compression level in [0, 1] (FLAC, OGG).

    Example:
        >>> save("tone.wav", ember.zeros(1, 16000), 16000, bits_per_sample=16)  # doctest: +SKIP
    """
    sf = _soundfile()
    path = _name(uri)
    file_like = hasattr(uri, "write")
    if file_like and format is None:
        raise ValueError(f"{path}: saving to a file-like object needs format= (e.g. 'wav', 'flac', 'ogg')")
    data = src.numpy(force=True) if isinstance(src, Tensor) else np.asarray(src)
    if data.ndim == 1:
        data = data[None, :] if channels_first else data[:, None]
    if data.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D waveform (channels, time), got shape {tuple(data.shape)}")
    frames = data.T if channels_first else data
    parent = None if file_like else os.path.dirname(os.path.abspath(path))
    if parent is not None and not os.path.isdir(parent):
        raise FileNotFoundError(f"{path}: cannot write audio: directory {parent} does not exist")
    fmt = (format or os.path.splitext(path)[1].lstrip(".")).upper()
    fmt = {"OGA": "OGG", "VORBIS": "OGG", "AIF": "AIFF", "SPH": "NIST"}.get(fmt, fmt)
    if fmt not in sf.available_formats():
        raise ValueError(f"{path}: unknown audio format {fmt!r}; pass format= (e.g. 'wav', 'flac', 'ogg')")
    subtype = _choose_subtype(fmt, frames, encoding.upper() if encoding else None, bits_per_sample)
    if frames.dtype == np.uint8:
        frames = (frames.astype(np.int16) - 128) << 8
    elif frames.dtype.kind == "f" and subtype not in ("FLOAT", "DOUBLE"):
        frames = np.clip(frames, -1.0, 1.0)
    elif frames.dtype == np.int64:
        frames = frames.astype(np.int32)
    kwargs = {}
    if compression is not None and fmt in ("OGG", "FLAC"):
        kwargs["compression_level"] = float(compression)
    try:
        sf.write(uri if file_like else path, np.ascontiguousarray(frames), int(sample_rate), subtype=subtype,
                 format=fmt, **kwargs)
    except Exception as error:
        raise RuntimeError(f"{path}: cannot write audio: {error}") from error
