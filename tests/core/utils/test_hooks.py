"""ember.utils.hooks.RemovableHandle: one handle for tensor, module and optimizer hooks (torch.utils.hooks)."""

from __future__ import annotations

import ember
import pytest
from ember import nn
from ember.utils.hooks import RemovableHandle


def _handles():
    x = ember.ones(2, requires_grad=True)
    layer = nn.Linear(2, 2)
    opt = ember.optim.SGD(layer.parameters(), lr=0.1)
    return [
        x.register_hook(lambda grad: None),
        (x * 1).register_hook(lambda grad: None),
        layer.register_forward_pre_hook(lambda module, args: None),
        layer.register_forward_hook(lambda module, args, output: None),
        opt.register_step_pre_hook(lambda optimizer, args, kwargs: None),
        opt.register_step_post_hook(lambda optimizer, args, kwargs: None),
    ]


def test_every_register_hook_returns_the_one_handle_class():
    handles = _handles()
    assert all(type(h) is RemovableHandle for h in handles)
    assert len({h.id for h in handles}) == len(handles)


def test_tensor_hook_removed_at_the_end_of_a_with_block():
    x = ember.ones(2, requires_grad=True)
    with x.register_hook(lambda grad: grad * 10):
        (x * 1).sum().backward()
    assert x.grad.tolist() == [10.0, 10.0]
    x.grad = None
    (x * 1).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_optimizer_step_hook_removed_at_the_end_of_a_with_block():
    w = ember.ones(1, requires_grad=True)
    opt = ember.optim.SGD([w], lr=0.1)
    calls = []
    with opt.register_step_post_hook(lambda optimizer, args, kwargs: calls.append("post")):
        opt.step()
    opt.step()
    assert calls == ["post"]


def test_module_forward_hook_removed_at_the_end_of_a_with_block():
    layer = nn.Identity()
    with layer.register_forward_hook(lambda module, args, output: output * 2):
        assert layer(ember.ones(1)).item() == 2.0
    assert layer(ember.ones(1)).item() == 1.0


@pytest.mark.parametrize("leaf", [True, False])
def test_a_hook_removing_itself_during_backward_leaves_the_others_running(leaf):
    # As torch: every hook registered when the gradient arrives runs; the removed one only once.
    x = ember.ones(2, requires_grad=True)
    t = x if leaf else x * 2
    calls = []

    def once(grad):
        calls.append("once")
        handle.remove()

    handle = t.register_hook(once)
    t.register_hook(lambda grad: calls.append("always"))
    (t * 1).sum().backward(retain_graph=True)
    (t * 1).sum().backward()
    assert calls == ["once", "always", "always"]


def test_remove_twice_is_harmless():
    x = ember.ones(2, requires_grad=True)
    handle = x.register_hook(lambda grad: grad * 3)
    handle.remove()
    handle.remove()
    (x * 1).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
