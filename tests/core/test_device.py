"""Devices as a PyTorch script uses them: probing (ember.cuda, ember.accelerator, ember.backends),
``ember.device`` values, one error for devices Ember has not, and the default-device context."""

from __future__ import annotations

import threading

import pytest

import ember
from ember import nn

CPU_ONLY = "Ember runs on the CPU only; got device 'cuda"
UNKNOWN = "Expected one of cpu, cuda, ipu, xpu, .* device type at start of device string: banana"


@pytest.fixture(autouse=True)
def _default_device_restored():
    yield
    ember.set_default_device(None)


# --- probing -----------------------------------------------------------------------------------------
def test_the_usual_device_probe_picks_the_cpu():
    device = ember.device("cuda" if ember.cuda.is_available() else "cpu")
    assert device == ember.device("cpu")
    assert ember.cuda.device_count() == 0 and not ember.cuda.is_initialized()
    assert ember.accelerator.is_available() is False and ember.accelerator.current_accelerator() is None
    assert ember.accelerator.device_count() == 0


def test_cuda_housekeeping_calls_do_nothing_and_seed_nothing_else():
    ember.manual_seed(7)
    expected = ember.rand(3)
    ember.manual_seed(7)
    ember.cuda.manual_seed(123)
    ember.cuda.manual_seed_all(123)
    ember.cuda.empty_cache()
    assert ember.cuda.memory_allocated() == 0 and ember.cuda.max_memory_allocated() == 0
    assert ember.cuda.get_rng_state_all() == []
    assert ember.equal(ember.rand(3), expected)  # the CPU generator was not reseeded


@pytest.mark.parametrize("call", ["synchronize", "current_device", "get_device_name", "init"])
def test_cuda_calls_that_need_a_gpu_raise_like_torch_without_cuda(call):
    with pytest.raises(AssertionError, match="no CUDA support"):
        getattr(ember.cuda, call)()


def test_accelerator_calls_that_need_a_device_raise():
    with pytest.raises(RuntimeError, match="Cannot access accelerator device when none is available"):
        ember.accelerator.current_device_index()


def test_backend_flags_are_settable_and_read_back():
    cudnn = ember.backends.cudnn
    saved = (cudnn.deterministic, cudnn.benchmark, cudnn.enabled)
    assert saved == (False, False, True)
    try:
        cudnn.deterministic, cudnn.benchmark = True, False
        assert ember.backends.cudnn.deterministic is True
        with cudnn.flags(enabled=False):
            assert cudnn.enabled is False
        assert cudnn.enabled is True
    finally:
        cudnn.deterministic, cudnn.benchmark, cudnn.enabled = saved
    assert cudnn.is_available() is False and cudnn.version() is None
    assert ember.backends.mps.is_available() is False and ember.backends.mps.is_built() is False
    assert ember.backends.cuda.is_built() is False
    ember.backends.cuda.matmul.allow_tf32 = True
    assert ember.backends.cuda.matmul.allow_tf32 is True
    ember.backends.cuda.matmul.allow_tf32 = False


def test_tensor_device_attributes():
    t = ember.zeros(2)
    assert t.is_cpu and not t.is_cuda and not t.is_mps and not t.is_xpu and not t.is_meta
    assert t.get_device() == -1
    assert t.cpu() is t
    with pytest.raises(RuntimeError, match=CPU_ONLY):
        t.cuda()


# --- ember.device values -----------------------------------------------------------------------------
def test_device_values_follow_torch():
    assert ember.device("cpu:0").index == 0 and str(ember.device("cpu:0")) == "cpu:0"
    assert repr(ember.device("cuda", 1)) == "device(type='cuda', index=1)"
    assert ember.device("cpu") != ember.device("cpu:0")  # as torch: the index is part of the value
    assert ember.device("cpu") != "cpu"
    assert ember.zeros(1).device == ember.device("cpu") and ember.zeros(1).device.type == "cpu"
    assert len({ember.device("cpu"), ember.device("cpu")}) == 1


@pytest.mark.parametrize("text, message", [
    ("banana", UNKNOWN),
    ("CPU", "device type at start of device string: CPU"),
    (" cpu", "Invalid device string: ' cpu'"),
    ("cpu:x", "Invalid device string: 'cpu:x'"),
])
def test_bad_device_strings_raise_like_torch(text, message):
    with pytest.raises(RuntimeError, match=message):
        ember.device(text)


def test_an_int_device_asks_for_an_accelerator():
    with pytest.raises(RuntimeError, match="Cannot access accelerator device when none is available"):
        ember.device(0)


# --- one error for devices Ember has not, wherever a device is accepted -------------------------------
FACTORIES = {
    "tensor": lambda d: ember.tensor([1.0], device=d),
    "as_tensor": lambda d: ember.as_tensor([1.0], device=d),
    "zeros": lambda d: ember.zeros(2, device=d),
    "ones": lambda d: ember.ones(2, device=d),
    "empty": lambda d: ember.empty(2, device=d),
    "full": lambda d: ember.full((2,), 1.0, device=d),
    "arange": lambda d: ember.arange(3, device=d),
    "linspace": lambda d: ember.linspace(0, 1, 3, device=d),
    "logspace": lambda d: ember.logspace(0, 1, 3, device=d),
    "eye": lambda d: ember.eye(2, device=d),
    "rand": lambda d: ember.rand(2, device=d),
    "randn": lambda d: ember.randn(2, device=d),
    "randint": lambda d: ember.randint(0, 3, (2,), device=d),
    "randperm": lambda d: ember.randperm(3, device=d),
    "normal": lambda d: ember.normal(0.0, 1.0, (2,), device=d),
    "zeros_like": lambda d: ember.zeros_like(ember.ones(2), device=d),
    "ones_like": lambda d: ember.ones_like(ember.ones(2), device=d),
    "empty_like": lambda d: ember.empty_like(ember.ones(2), device=d),
    "full_like": lambda d: ember.full_like(ember.ones(2), 3.0, device=d),
    "rand_like": lambda d: ember.rand_like(ember.ones(2), device=d),
    "randn_like": lambda d: ember.randn_like(ember.ones(2), device=d),
    "randint_like": lambda d: ember.randint_like(ember.ones(2), 3, device=d),
    "new_zeros": lambda d: ember.ones(2).new_zeros(2, device=d),
    "new_tensor": lambda d: ember.ones(2).new_tensor([1.0], device=d),
    "Tensor": lambda d: ember.Tensor(2, device=d),
    "FloatTensor": lambda d: ember.FloatTensor([1.0], device=d),
    "to": lambda d: ember.ones(2).to(d),
    "to(device=)": lambda d: ember.ones(2).to(device=d),
    "to(device, dtype)": lambda d: ember.ones(2).to(d, ember.float64),
}

LAYERS = {
    "Linear": lambda d: nn.Linear(2, 3, device=d),
    "Bilinear": lambda d: nn.Bilinear(2, 2, 3, device=d),
    "Conv2d": lambda d: nn.Conv2d(1, 2, 3, device=d),
    "ConvTranspose2d": lambda d: nn.ConvTranspose2d(1, 2, 3, device=d),
    "Embedding": lambda d: nn.Embedding(5, 2, device=d),
    "LayerNorm": lambda d: nn.LayerNorm(4, device=d),
    "BatchNorm1d": lambda d: nn.BatchNorm1d(4, device=d),
    "GroupNorm": lambda d: nn.GroupNorm(2, 4, device=d),
    "LSTM": lambda d: nn.LSTM(2, 3, device=d),
    "GRU": lambda d: nn.GRU(2, 3, device=d),
    "RNNCell": lambda d: nn.RNNCell(2, 3, device=d),
    "MultiheadAttention": lambda d: nn.MultiheadAttention(4, 2, device=d),
    "TransformerEncoderLayer": lambda d: nn.TransformerEncoderLayer(4, 2, 8, device=d),
    "PReLU": lambda d: nn.PReLU(device=d),
    "Module.to": lambda d: nn.Linear(2, 2).to(d),
    "Module.to(device=)": lambda d: nn.Linear(2, 2).to(device=d),
}


@pytest.mark.parametrize("name", sorted(FACTORIES) + sorted(LAYERS))
def test_cpu_is_accepted_in_every_spelling(name):
    make = FACTORIES.get(name) or LAYERS[name]
    for d in ("cpu", "cpu:0", ember.device("cpu"), None):
        make(d)


@pytest.mark.parametrize("name", sorted(FACTORIES) + sorted(LAYERS))
def test_cuda_gives_ember_s_one_error(name):
    make = FACTORIES.get(name) or LAYERS[name]
    for d in ("cuda", "cuda:0", ember.device("cuda")):
        with pytest.raises(RuntimeError, match=CPU_ONLY):
            make(d)


@pytest.mark.parametrize("name", ["zeros", "to", "Linear", "Module.to"])
def test_an_unknown_device_raises_torch_s_error(name):
    make = FACTORIES.get(name) or LAYERS[name]
    with pytest.raises(RuntimeError, match=UNKNOWN):
        make("banana")


def test_module_cuda_gives_the_same_error():
    with pytest.raises(RuntimeError, match=CPU_ONLY):
        nn.Linear(2, 2).cuda()


# --- the default device --------------------------------------------------------------------------------
def test_device_context_manager_sets_the_default_device():
    assert ember.get_default_device() == ember.device("cpu")
    with ember.device("cpu") as d:
        assert d == ember.device("cpu") and ember.zeros(2).device == ember.device("cpu")
    with ember.device("meta"):
        assert ember.get_default_device() == ember.device("meta")
        assert ember.zeros(2).is_meta and ember.arange(3).is_meta and ember.tensor([1.0]).is_meta
        with ember.device("cpu"):
            assert not ember.zeros(2).is_meta
        assert ember.randn(2).is_meta
    assert ember.get_default_device() == ember.device("cpu") and not ember.zeros(2).is_meta


def test_device_context_for_cuda_raises_on_entry():
    with pytest.raises(RuntimeError, match=CPU_ONLY), ember.device("cuda"):
        pass
    assert ember.get_default_device() == ember.device("cpu")


def test_set_default_device():
    ember.set_default_device("meta")
    assert ember.ones(3).is_meta and nn.Linear(2, 2).weight.is_meta
    ember.set_default_device(None)
    assert ember.get_default_device() == ember.device("cpu") and not ember.ones(3).is_meta
    with pytest.raises(RuntimeError, match=CPU_ONLY):
        ember.set_default_device("cuda")


def test_generator_and_mask_devices():
    assert ember.Generator(device="cpu").device == ember.device("cpu")
    with pytest.raises(RuntimeError, match=CPU_ONLY):
        ember.Generator(device="cuda")
    mask = nn.Transformer.generate_square_subsequent_mask(3, device="meta")
    assert mask.is_meta and mask.shape == (3, 3)
    with pytest.raises(RuntimeError, match=CPU_ONLY):
        nn.Transformer.generate_square_subsequent_mask(3, device="cuda")


def test_the_default_device_belongs_to_the_thread_that_set_it():
    seen = []
    with ember.device("meta"):
        worker = threading.Thread(target=lambda: seen.append(ember.zeros(2).is_meta))
        worker.start()
        worker.join()
        assert ember.zeros(2).is_meta
    assert seen == [False]


def test_cuda_legacy_types_exist_but_cannot_be_built():
    dtype = ember.cuda.FloatTensor if ember.cuda.is_available() else ember.FloatTensor
    assert dtype is ember.FloatTensor
    assert not isinstance(ember.zeros(1), ember.cuda.FloatTensor)
    with pytest.raises(RuntimeError, match=CPU_ONLY):
        ember.cuda.LongTensor([1, 2])
    with pytest.raises(RuntimeError, match=CPU_ONLY):
        ember.zeros(1).type(ember.cuda.FloatTensor)


def test_pin_memory_says_ember_computes_on_the_cpu_and_nothing_is_pinned():
    t = ember.ones(2)
    assert t.is_pinned() is False
    with pytest.raises(RuntimeError, match="Ember runs on the CPU only; got device 'cuda'"):
        t.pin_memory()
