"""Every built-in model family exports; ep.module() matches eager at the export batch size and another one.

Small configurations of each family keep this fast; the capture records the same ops at any width.
"""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.export import Dim, export

from tests.core.model_families import FAMILIES, first


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_exports_with_a_dynamic_batch(family):
    model, make = FAMILIES[family]()
    model.eval()
    ep = export(model, (make(2),), dynamic_shapes=({0: Dim("batch", min=1, max=64)},))
    graph_module = ep.module()
    for batch in (2, 5):
        x = make(batch)
        with ember.no_grad():
            want, got = model(x), graph_module(x)
        np.testing.assert_allclose(first(got).numpy(), first(want).numpy(), rtol=1e-5, atol=1e-5)
    first_output = ep.graph_signature.user_outputs[0]
    meta = next(o for n in ep.graph.nodes for o in n.outputs if o.name == first_output)
    assert meta.shape[0] == "batch"  # the graph's output size follows the input's
