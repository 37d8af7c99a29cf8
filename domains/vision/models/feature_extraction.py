"""``create_feature_extractor`` and ``get_graph_node_names`` (torchvision.models.feature_extraction), without
torch.fx: a node is a module of the model, named by its path (``"layer1"``, ``"layer4.1.conv2"``), or ``"x"``
for the input.

torchvision traces the model with torch.fx, so its nodes also include functions (``"flatten"``,
``"layer1.0.add"``) and second calls of a module (``"layer1.0.relu_1"``); here those cannot be asked for. A
module's node is its output the first time it runs, and a container's (``"layer1"``) is its output, which is
what torchvision's prefix rule gives too. The extractor shares the model's parameters and buffers, with the
same ``state_dict`` keys, and stops the forward pass as soon as every requested node is computed.

Example:
    >>> import ember
    >>> from ember.vision.models import resnet18
    >>> from ember.vision.models.feature_extraction import create_feature_extractor
    >>> extractor = create_feature_extractor(resnet18(), return_nodes={"layer2": "feat2", "layer4": "feat4"})
    >>> {k: tuple(v.shape) for k, v in extractor(ember.randn(1, 3, 64, 64)).items()}
    {'feat2': (1, 128, 8, 8), 'feat4': (1, 512, 2, 2)}
"""

from __future__ import annotations

from ember import nn

__all__ = ["create_feature_extractor", "get_graph_node_names"]


class _AllCaptured(Exception):
    """Raised by the last hook: the rest of the forward pass is not needed."""


def get_graph_node_names(model: nn.Module, tracer_kwargs=None, suppress_diff_warning: bool = False,
                         concrete_args=None) -> tuple[list[str], list[str]]:
    """The node names a feature extractor accepts, for training and for evaluation mode (the same here): the
    input ``"x"`` and every module's path, in registration order."""
    names = ["x"] + [name for name, _ in model.named_modules() if name]
    return names, list(names)


def _as_dict(nodes, model: nn.Module, which: str) -> dict[str, str]:
    if isinstance(nodes, (list, tuple)):
        nodes = {name: name for name in nodes}
    if not isinstance(nodes, dict):
        raise TypeError(f"{which} must be a list or a dict of node names, got {type(nodes).__name__}")
    known = dict(model.named_modules())
    for name in nodes:
        if name != "x" and name not in known:
            raise ValueError(f"node: '{name}' is not present in model. Hint: use `get_graph_node_names` to make sure "
                             f"the `return_nodes` you specified are present (Ember's nodes are modules, not "
                             f"the functions torch.fx also lists).")
    return {str(k): str(v) for k, v in nodes.items()}


class FeatureExtractor(nn.Module):
    """The model, returning a dict of its intermediate outputs (``{new name: tensor}``) instead of its output."""

    def __init__(self, model: nn.Module, train_return_nodes: dict[str, str], eval_return_nodes: dict[str, str]):
        super().__init__()
        d = self.__dict__
        d["_model"] = model  # not registered as a child: its children, parameters and buffers are ours
        for attribute in ("_modules", "_parameters", "_buffers", "_non_persistent_buffers_set"):
            d[attribute] = getattr(model, attribute)
        self.train_return_nodes, self.eval_return_nodes = train_return_nodes, eval_return_nodes
        self.training = model.training

    def forward(self, *args, **kwargs):
        nodes = self.train_return_nodes if self.training else self.eval_return_nodes
        model = self.__dict__["_model"]
        model.training = self.training
        outputs: dict = {}
        if "x" in nodes:
            outputs[nodes["x"]] = args[0] if args else next(iter(kwargs.values()))

        def capture(key):
            def hook(module, inputs, output):
                outputs.setdefault(key, output)
                if len(outputs) == len(nodes):
                    raise _AllCaptured

            return hook

        modules = dict(model.named_modules())
        handles = [modules[name].register_forward_hook(capture(key)) for name, key in nodes.items() if name != "x"]
        try:
            if len(outputs) < len(nodes):
                model.forward(*args, **kwargs)
        except _AllCaptured:
            pass
        finally:
            for handle in handles:
                handle.remove()
        missing = [name for name, key in nodes.items() if key not in outputs]
        if missing:
            raise RuntimeError(f"create_feature_extractor: the model's forward pass never ran {missing}")
        return {key: outputs[key] for key in nodes.values()}


def create_feature_extractor(model: nn.Module, return_nodes=None, train_return_nodes=None, eval_return_nodes=None,
                             tracer_kwargs=None, suppress_diff_warning: bool = False,
                             concrete_args=None) -> FeatureExtractor:
    """A module returning ``{new name: output of node}`` for the nodes asked for (a list of names, or a dict
    from node name to the key it gets); ``train_return_nodes`` / ``eval_return_nodes`` give the two modes
    different nodes. The model is shared, not copied."""
    if return_nodes is None and (train_return_nodes is None or eval_return_nodes is None):
        raise ValueError("Either `return_nodes` or `train_return_nodes` and `eval_return_nodes` together, should "
                         "be specified")
    if return_nodes is not None and (train_return_nodes is not None or eval_return_nodes is not None):
        raise ValueError("If `train_return_nodes` and `eval_return_nodes` are specified, then both should be "
                         "specified, and `return_nodes` should not be specified")
    if return_nodes is not None:
        train_return_nodes = eval_return_nodes = return_nodes
    return FeatureExtractor(model, _as_dict(train_return_nodes, model, "train_return_nodes"),
                            _as_dict(eval_return_nodes, model, "eval_return_nodes"))
