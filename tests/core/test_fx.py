"""ember.fx: torch.fx.wrap leaves eager code as it is; the tracer and graph classes say what to use instead."""

from __future__ import annotations

import ember
import pytest


@ember.fx.wrap
def _maybe_add_mask(scores, mask=None):  # timm's attention helper, marked as a leaf for FX
    return scores if mask is None else scores + mask


ember.fx.wrap("len")  # the module-level string form


def test_wrap_leaves_the_function_as_it_is():
    scores = ember.ones(2, 3)
    assert _maybe_add_mask(scores) is scores
    assert _maybe_add_mask(scores, ember.ones(3)).tolist() == [[2.0] * 3] * 2
    assert ember.fx.wrap("len") == "len"


@pytest.mark.parametrize("name", ["symbolic_trace", "GraphModule", "Tracer"])
def test_the_tracer_and_graph_classes_name_ember_export_and_compile(name):
    with pytest.raises(NotImplementedError, match=rf"ember.fx.{name}: Ember has no FX graphs.*ember.export.*ember.compile"):
        thing = getattr(ember.fx, name)
        thing(ember.nn.Linear(2, 2))
