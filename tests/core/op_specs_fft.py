"""Op-spec entries for fft ops (see op_specs.py for the fields); ALL_SPECS includes them.

The harness feeds real tensors and compares real outputs, so a complex spectrum is returned through
``view_as_real`` and a complex input is built with ``complex(a, b)`` from two real ones (complex inputs
are also tested directly against torch in test_fft.py). ``resolve_conj`` is for torch, whose ``ihfft``
returns a lazily conjugated tensor that ``view_as_real`` refuses.
"""

from __future__ import annotations

import numpy as np

from .op_specs import OpSpec

SHAPES_1D_4D = [((8,),), ((3, 6),), ((2, 3, 5),), ((2, 2, 3, 4),)]
SHAPES_2D_4D = SHAPES_1D_4D[1:]
PAIRS_1D_3D = [((6,), (6,)), ((3, 4), (3, 4)), ((2, 3, 5), (2, 3, 5))]
PAIRS_2D_3D = PAIRS_1D_3D[1:]


def _vr(z):
    """numpy's view_as_real."""
    z = np.asarray(z)
    return np.stack([z.real, z.imag], axis=-1)


def _c(a, b):
    return a + 1j * b


def _vr_f(m, z):
    return m.view_as_real(z.resolve_conj())


SPECS = [
    OpSpec("fft", lambda m, a: _vr_f(m, m.fft.fft(a)), lambda a: _vr(np.fft.fft(a)), SHAPES_1D_4D),
    OpSpec("fft_n_dim_ortho", lambda m, a: _vr_f(m, m.fft.fft(a, n=5, dim=0, norm="ortho")),
           lambda a: _vr(np.fft.fft(a, n=5, axis=0, norm="ortho")), [((4,),), ((3, 4),), ((7, 2, 3),)]),
    OpSpec("ifft_n_forward", lambda m, a: _vr_f(m, m.fft.ifft(a, n=7, norm="forward")),
           lambda a: _vr(np.fft.ifft(a, n=7, norm="forward")), SHAPES_1D_4D),
    OpSpec("fft_complex", lambda m, a, b: _vr_f(m, m.fft.fft(m.complex(a, b))),
           lambda a, b: _vr(np.fft.fft(_c(a, b))), PAIRS_1D_3D),
    OpSpec("ifft_complex_ortho", lambda m, a, b: _vr_f(m, m.fft.ifft(m.complex(a, b), n=4, norm="ortho")),
           lambda a, b: _vr(np.fft.ifft(_c(a, b), n=4, norm="ortho")), PAIRS_1D_3D),
    OpSpec("fft2_s", lambda m, a: _vr_f(m, m.fft.fft2(a, s=(3, 5))),
           lambda a: _vr(np.fft.fft2(a, s=(3, 5))), SHAPES_2D_4D),
    OpSpec("ifft2_complex", lambda m, a, b: _vr_f(m, m.fft.ifft2(m.complex(a, b))),
           lambda a, b: _vr(np.fft.ifft2(_c(a, b))), PAIRS_2D_3D),
    OpSpec("fftn", lambda m, a: _vr_f(m, m.fft.fftn(a)), lambda a: _vr(np.fft.fftn(a)), SHAPES_1D_4D),
    OpSpec("ifftn_dims_forward",
           lambda m, a, b: _vr_f(m, m.fft.ifftn(m.complex(a, b), dim=(0, -1), norm="forward")),
           lambda a, b: _vr(np.fft.ifftn(_c(a, b), axes=(0, -1), norm="forward")), PAIRS_2D_3D),
    OpSpec("rfft", lambda m, a: _vr_f(m, m.fft.rfft(a)), lambda a: _vr(np.fft.rfft(a)), SHAPES_1D_4D),
    OpSpec("rfft_n_ortho", lambda m, a: _vr_f(m, m.fft.rfft(a, n=7, dim=0, norm="ortho")),
           lambda a: _vr(np.fft.rfft(a, n=7, axis=0, norm="ortho")), [((6,),), ((3, 4),), ((9, 2, 3),)]),
    OpSpec("irfft_of_rfft", lambda m, a: m.fft.irfft(m.fft.rfft(a) * 2, n=a.shape[-1]),
           lambda a: np.fft.irfft(np.fft.rfft(a) * 2, n=a.shape[-1]), SHAPES_1D_4D),
    # a general (not Hermitian) half spectrum: the imaginary parts of the zero and Nyquist terms are ignored
    OpSpec("irfft_complex_even", lambda m, a, b: m.fft.irfft(m.complex(a, b)),
           lambda a, b: np.fft.irfft(_c(a, b)), PAIRS_1D_3D),
    OpSpec("irfft_complex_n_odd_forward", lambda m, a, b: m.fft.irfft(m.complex(a, b), n=7, norm="forward"),
           lambda a, b: np.fft.irfft(_c(a, b), n=7, norm="forward"), PAIRS_1D_3D),
    OpSpec("irfft_complex_n_crop_ortho",
           lambda m, a, b: m.fft.irfft(m.complex(a, b), n=4, dim=0, norm="ortho"),
           lambda a, b: np.fft.irfft(_c(a, b), n=4, axis=0, norm="ortho"), PAIRS_1D_3D),
    OpSpec("rfft2", lambda m, a: _vr_f(m, m.fft.rfft2(a)), lambda a: _vr(np.fft.rfft2(a)), SHAPES_2D_4D),
    OpSpec("irfft2_complex_s", lambda m, a, b: m.fft.irfft2(m.complex(a, b), s=(3, 5)),
           lambda a, b: np.fft.irfft2(_c(a, b), s=(3, 5)), PAIRS_2D_3D),
    OpSpec("rfftn_dims", lambda m, a: _vr_f(m, m.fft.rfftn(a, dim=(-1, 0), norm="forward")),
           lambda a: _vr(np.fft.rfftn(a, axes=(-1, 0), norm="forward")), SHAPES_2D_4D),
    OpSpec("irfftn_complex", lambda m, a, b: m.fft.irfftn(m.complex(a, b)),
           lambda a, b: np.fft.irfftn(_c(a, b)), PAIRS_1D_3D),
    OpSpec("hfft_complex", lambda m, a, b: m.fft.hfft(m.complex(a, b)),
           lambda a, b: np.fft.hfft(_c(a, b)), PAIRS_1D_3D),
    OpSpec("hfft_complex_n_ortho", lambda m, a, b: m.fft.hfft(m.complex(a, b), n=5, norm="ortho"),
           lambda a, b: np.fft.hfft(_c(a, b), n=5, norm="ortho"), PAIRS_1D_3D),
    OpSpec("ihfft", lambda m, a: _vr_f(m, m.fft.ihfft(a)), lambda a: _vr(np.fft.ihfft(a)), SHAPES_1D_4D),
    OpSpec("ihfft_n_forward", lambda m, a: _vr_f(m, m.fft.ihfft(a, n=5, norm="forward")),
           lambda a: _vr(np.fft.ihfft(a, n=5, norm="forward")), SHAPES_1D_4D),
    OpSpec("hfft2_complex", lambda m, a, b: m.fft.hfft2(m.complex(a, b)),
           lambda a, b: np.fft.irfft2(np.conj(_c(a, b)), norm="forward"), PAIRS_2D_3D),
    OpSpec("ihfftn_ortho", lambda m, a: _vr_f(m, m.fft.ihfftn(a, norm="ortho")),
           lambda a: _vr(np.conj(np.fft.rfftn(a, norm="ortho"))), SHAPES_1D_4D),
    OpSpec("fftshift", lambda m, a: m.fft.fftshift(a), np.fft.fftshift, SHAPES_1D_4D),
    OpSpec("ifftshift_dim", lambda m, a: m.fft.ifftshift(a, dim=0), lambda a: np.fft.ifftshift(a, axes=0),
           [((5,),), ((3, 4),), ((3, 2, 2),)]),
]
