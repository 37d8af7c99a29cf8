"""ember.xpu: torch.xpu's probing API on a machine without the device, as pytorch/examples call it."""

from __future__ import annotations

import ember
import pytest

PROBES = ["is_available", "device_count", "is_initialized", "is_bf16_supported", "get_rng_state_all", "seed",
          "seed_all", "empty_cache", "memory_allocated", "max_memory_allocated", "memory_reserved",
          "max_memory_reserved"]  # (torch's reset_peak_memory_stats fails with an AttributeError; ours does nothing)
NEEDS_DEVICE = ["synchronize", "current_device", "get_device_name", "init", "initial_seed", "get_rng_state"]


def test_the_examples_device_choice_falls_through_to_the_cpu():
    use_xpu = ember.xpu.is_available()
    device = ember.device("xpu") if use_xpu else ember.device("cpu")
    assert device == ember.device("cpu") and ember.xpu.device_count() == 0
    ember.xpu.manual_seed(1)  # accepted, does nothing
    ember.xpu.manual_seed_all(1)


@pytest.mark.parametrize("name", NEEDS_DEVICE)
def test_what_needs_the_device_raises(name):
    with pytest.raises(AssertionError, match="XPU"):
        getattr(ember.xpu, name)()


@pytest.mark.parity
@pytest.mark.parametrize("name", PROBES + NEEDS_DEVICE)
def test_answers_as_torchs_cpu_build(name):
    torch = pytest.importorskip("torch")
    if torch.xpu.is_available():
        pytest.skip("torch sees an XPU here")

    def call(module):
        try:
            return ("ok", getattr(module, name)())
        except AssertionError:
            return ("raises", None)

    assert call(ember.xpu) == call(torch.xpu)
