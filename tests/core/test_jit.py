"""ember.jit: torch.jit's annotations leave eager code as it is; script / trace say what to use instead."""

from __future__ import annotations

import subprocess
import sys

import ember
import pytest


class _Attention(ember.nn.Module):
    """timm's pattern: a TorchScript ``Final`` attribute, an ignored method, an ``is_scripting`` branch."""

    fused_attn: ember.jit.Final[bool]

    def __init__(self):
        super().__init__()
        self.fused_attn = True
        self.proj = ember.nn.Linear(4, 4)
        self.grad_checkpointing = True

    @ember.jit.ignore
    def no_weight_decay(self):
        return {"pos_embed"}

    @ember.jit.ignore(drop=True)
    def group_matcher(self, coarse=False):
        return {"stem": r"^proj"}

    @ember.jit.unused
    def unused_branch(self):
        return 1

    @ember.jit.export
    def exported(self, x):
        return self.proj(x)

    def forward(self, x):
        if self.grad_checkpointing and not ember.jit.is_scripting():
            x = x * 2
        return self.proj(ember.jit.annotate(ember.Tensor, x))


def test_annotations_change_nothing():
    from ember.jit import Final

    module = _Attention()
    assert Final is ember.jit.Final and module.fused_attn is True
    assert module.no_weight_decay() == {"pos_embed"} and module.group_matcher() == {"stem": r"^proj"}
    assert module.unused_branch() == 1
    x = ember.ones(2, 4)
    assert ember.equal(module(x), module.proj(2 * x)) and ember.equal(module.exported(x), module.proj(x))
    assert not ember.jit.is_scripting() and not ember.jit.is_tracing()


@pytest.mark.parametrize("name", ["script", "trace"])
def test_script_and_trace_name_the_alternatives(name):
    with pytest.raises(NotImplementedError, match=rf"ember\.jit\.{name}: Ember has no TorchScript.*ember\.export"):
        getattr(ember.jit, name)(_Attention(), ember.ones(2, 4))


def test_torch_jit_is_reached_without_an_import_and_import_ember_stays_light():
    """``torch.jit.ignore`` works after ``import torch`` alone; ember.jit loads on first use."""
    code = ("import sys, ember; assert 'ember.jit' not in sys.modules; "
            "assert ember.jit.ignore(len) is len; assert 'ember.jit' in sys.modules; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.strip() == "ok", done.stderr


@pytest.mark.parity
def test_torch_has_the_same_names():
    torch = pytest.importorskip("torch")
    assert set(ember.jit.__all__) <= set(dir(torch.jit))
    assert torch.jit.Final is ember.jit.Final or str(torch.jit.Final) == str(ember.jit.Final)
    assert torch.jit.is_scripting() == ember.jit.is_scripting()
