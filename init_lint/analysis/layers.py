"""Constructions of ``torch.nn`` modules: layers (with fans), activations, norms, containers.

``construct`` turns a call of a ``torch.nn`` class into an abstract module value, giving
each layer construction site one key. Fans are computed as ``torch.nn.init`` computes them
(fan_in = shape[1] * receptive field) whenever the shape arguments are literals.
"""

from __future__ import annotations

import math

import libcst as cst

from init_lint.analysis.graph import Act
from init_lint.analysis.state import AnalysisState
from init_lint.analysis.values import (
    UNKNOWN,
    ActMod,
    Const,
    DictObj,
    LayerMod,
    ListObj,
    OtherMod,
    PassMod,
    QName,
    SeqMod,
    TransformerLayerMod,
    TupleV,
    Value,
    options,
)
from init_lint.knowledge import (
    ACTIVATION_FUNCTIONS,
    ACTIVATION_MODULES,
    ACTIVATIONS,
    LAYER_MODULES,
    NORM_MODULES,
    OUTPUT_MODULES,
    PASS_THROUGH_MODULES,
    STRING_ACTIVATIONS,
)

_PARAMS: dict[str, tuple[str, ...]] = {
    "Linear": ("in_features", "out_features", "bias"),
    "Bilinear": ("in1_features", "in2_features", "out_features", "bias"),
    "Conv": ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation",
             "groups", "bias"),
    "ConvTranspose": ("in_channels", "out_channels", "kernel_size", "stride", "padding",
                      "output_padding", "groups", "bias", "dilation"),
}
_TORCH_NN = ("torch.nn.", "torch.nn.modules.")


def torch_nn_class(qname: str) -> str | None:
    """``torch.nn.Linear`` / ``torch.nn.modules.linear.Linear`` -> ``Linear``."""
    if qname.startswith("torch.nn.") and not qname.startswith(("torch.nn.init.",
                                                               "torch.nn.functional.")):
        return qname.rsplit(".", 1)[-1]
    return None


def bind_arguments(names: tuple[str, ...], args: list[Value],
                   kwargs: dict[str, Value]) -> dict[str, Value]:
    bound = dict(zip(names, args, strict=False))
    bound.update(kwargs)
    return bound


def const_int(value: Value | None) -> int | None:
    if isinstance(value, Const) and isinstance(value.value, int) and not isinstance(
            value.value, bool):
        return value.value
    return None


def literal_int(value: Value | None) -> int | None:
    """An int written in the file (not a parameter's default): what fans may use."""
    if isinstance(value, Const) and value.soft:
        return None
    return const_int(value)


def const_number(value: Value | None) -> float | None:
    if isinstance(value, Const) and isinstance(value.value, (int, float)) and not isinstance(
            value.value, bool):
        return float(value.value)
    return None


def _kernel_volume(value: Value | None, dims: int) -> int | None:
    if value is None:
        return None
    size = literal_int(value)
    if size is not None:
        return int(size**dims)
    if isinstance(value, TupleV):
        sizes = [literal_int(v) for v in value.items]
        if all(s is not None for s in sizes):
            return math.prod(s for s in sizes if s is not None)
    if isinstance(value, Const) and isinstance(value.value, tuple) and not value.soft:
        if all(isinstance(v, int) for v in value.value):
            return math.prod(value.value)
    return None


Shape = tuple[int | None, ...]


def _fans(kind: str, bound: dict[str, Value]) -> tuple[int | None, int | None, Shape | None]:
    """fan_in, fan_out and weight shape as torch computes them."""
    if kind in ("Linear",):
        fi, fo = literal_int(bound.get("in_features")), literal_int(bound.get("out_features"))
        return fi, fo, (fo, fi)
    if kind == "Bilinear":
        i1, i2 = literal_int(bound.get("in1_features")), literal_int(bound.get("in2_features"))
        out = literal_int(bound.get("out_features"))
        fi = i1 * i2 if i1 and i2 else None
        fo = out * i2 if out and i2 else None
        return fi, fo, (out, i1, i2)
    if kind.startswith(("Conv", "ConvTranspose")) and kind[-2:] in ("1d", "2d", "3d"):
        dims = int(kind[-2])
        cin, cout = literal_int(bound.get("in_channels")), literal_int(bound.get("out_channels"))
        groups = literal_int(bound.get("groups", Const(1)))
        volume = _kernel_volume(bound.get("kernel_size"), dims)
        if None in (cin, cout, groups, volume) or not groups:
            return None, None, None
        assert cin is not None and cout is not None and groups is not None and volume is not None
        if kind.startswith("ConvTranspose"):
            # weight (in, out // groups, *k): torch's fan_in is shape[1] * k
            return cout // groups * volume, cin * volume, (cin, cout // groups)
        return cin // groups * volume, cout * volume, (cout, cin // groups)
    return None, None, None


class LayerMixin(AnalysisState):
    """Builds module values for calls of ``torch.nn`` classes."""

    def construct(self, kind: str, args: list[Value], kwargs: dict[str, Value],
                  node: cst.Call) -> Value:
        if kind in LAYER_MODULES:
            base = kind.replace("Lazy", "")
            family = "ConvTranspose" if base.startswith("ConvTranspose") else (
                "Conv" if base.startswith("Conv") else base)
            names = _PARAMS.get(family, ())
            if kind.startswith("Lazy"):
                names = tuple(n for n in names if n not in ("in_features", "in_channels"))
            bound = bind_arguments(names, args, kwargs)
            fan_in, fan_out, shape = _fans(base, bound) if not kind.startswith("Lazy") else (
                None, None, None)
            bias = bound.get("bias")
            has_bias = not (isinstance(bias, Const) and bias.value is False)
            key = self.key_for(node, kind, fan_in=fan_in, fan_out=fan_out, shape=shape)
            return LayerMod(key, kind, has_bias)
        if kind in NORM_MODULES:
            affine = kwargs.get("elementwise_affine", kwargs.get("affine"))
            key = self.key_for(node, kind, is_norm=True)
            has_bias = not (isinstance(kwargs.get("bias"), Const)
                            and kwargs["bias"] == Const(False))
            if isinstance(affine, Const) and affine.value is False:
                self.records[key].is_other = True
                return OtherMod(kind, key, normalizing=True)
            return LayerMod(key, kind, has_bias)
        if kind in ACTIVATION_MODULES:
            return ActMod(self.activation_from_module(kind, args, kwargs), kind)
        if kind in PASS_THROUGH_MODULES:
            return PassMod(kind)
        if kind in OUTPUT_MODULES:
            return PassMod(kind)  # softmax keeps "no activation": the layer is a logits head
        if kind == "Sequential":
            return self.sequential(args, node)
        if kind == "ModuleList":
            items = self.iterate(args[0]) if args else []
            source = args[0] if args and items is not None else None
            return ListObj(list(items) if items is not None else [UNKNOWN], module_list=True,
                           stable=source.stable if isinstance(source, ListObj) else 0,
                           tail=source.tail if isinstance(source, ListObj) else 0)
        if kind == "ModuleDict":
            if args and isinstance(args[0], DictObj):
                return DictObj(dict(args[0].items), module_dict=True,
                               literal_keys=set(args[0].literal_keys))
            return DictObj({}, module_dict=True)
        if kind in ("TransformerEncoderLayer", "TransformerDecoderLayer"):
            return self.transformer_layer(kind, args, kwargs, node)
        key = self.key_for(node, kind, is_other=True)
        return OtherMod(kind, key)

    def transformer_layer(self, kind: str, args: list[Value], kwargs: dict[str, Value],
                          node: cst.Call) -> TransformerLayerMod:
        """``nn.TransformerEncoderLayer``: its feed-forward linear1 -> activation (PyTorch's
        string activation, ReLU by default) -> linear2, inside two LayerNorms."""
        bound = bind_arguments(("d_model", "nhead", "dim_feedforward", "dropout", "activation"),
                               args, kwargs)
        d_model = literal_int(bound.get("d_model"))
        hidden = literal_int(bound.get("dim_feedforward", Const(2048)))
        activation = bound.get("activation", Const("relu"))
        act = self.string_activation(activation)
        if act is None:
            act = Act("?")
            for option in options(activation):
                if isinstance(option, QName) and option.name in ACTIVATION_FUNCTIONS:
                    act = Act(ACTIVATION_FUNCTIONS[option.name])
        attention = OtherMod("MultiheadAttention", self.key_for(node, "MultiheadAttention",
                                                                 "self_attn", is_other=True))
        out_proj = LayerMod(self.key_for(node, "Linear", "out_proj", fan_in=d_model,
                                         fan_out=d_model, shape=(d_model, d_model)), "Linear")
        linear1 = LayerMod(self.key_for(node, "Linear", "linear1", fan_in=d_model,
                                        fan_out=hidden, shape=(hidden, d_model)), "Linear")
        linear2 = LayerMod(self.key_for(node, "Linear", "linear2", fan_in=hidden,
                                        fan_out=d_model, shape=(d_model, hidden)), "Linear")
        norms = [LayerMod(self.key_for(node, "LayerNorm", f"norm{i}", is_norm=True), "LayerNorm")
                 for i in (1, 2)]
        return TransformerLayerMod(kind, attention, out_proj, linear1, ActMod(act, "?"), linear2,
                                   norms)

    def activation_from_module(self, kind: str, args: list[Value],
                               kwargs: dict[str, Value]) -> Act:
        name = ACTIVATION_MODULES[kind]
        info = ACTIVATIONS[name]
        param: float | None = None
        if name == "leaky_relu":
            param = const_number(kwargs.get("negative_slope", args[0] if args else Const(0.01)))
            if param is None:
                return Act(name, None, param_known=False)
        elif name == "prelu":
            param = const_number(kwargs.get("init", args[1] if len(args) > 1 else Const(0.25)))
        elif name == "rrelu":
            lower = const_number(kwargs.get("lower", args[0] if args else Const(1 / 8)))
            upper = const_number(kwargs.get("upper", args[1] if len(args) > 1 else Const(1 / 3)))
            param = (lower + upper) / 2 if lower is not None and upper is not None else None
        else:
            param = info.default_param
        return Act(name, param)

    def string_activation(self, value: Value) -> Act | None:
        if isinstance(value, Const) and isinstance(value.value, str):
            name = STRING_ACTIVATIONS.get(value.value)
            return Act(name) if name else Act("?")
        return None

    def sequential(self, args: list[Value], node: cst.Call | None = None) -> SeqMod:
        if len(args) == 1 and isinstance(args[0], DictObj):
            return SeqMod(list(args[0].items.values()), list(args[0].items.keys()),
                          literal_names=frozenset(args[0].literal_keys))
        items: list[Value] = []
        for arg in args:
            items.append(arg)
        # Positions are the source's when every item is written out, or as far as the list
        # of `nn.Sequential(*layers)` knows them.
        stable = tail = 0
        if node is not None and not any(arg.star for arg in node.args):
            stable = tail = len(items)
        elif node is not None and self.star_source is not None and (
                self.star_source[0] == id(node)) and isinstance(self.star_source[1], ListObj):
            stable, tail = self.star_source[1].stable, self.star_source[1].tail
        return SeqMod(items, [str(i) for i in range(len(items))], stable=stable, tail=tail)

    def iterate(self, value: Value) -> list[Value] | None:
        """Items of a concrete iterable, or None when they are not known."""
        if isinstance(value, (ListObj,)):
            return list(value.items)
        if isinstance(value, TupleV):
            return list(value.items)
        if isinstance(value, SeqMod):
            return list(value.items)
        if isinstance(value, DictObj):
            return [Const(k) for k in value.items]
        if isinstance(value, Const) and isinstance(value.value, (tuple, str)):
            return [Const(v) for v in value.value]
        if len(options(value)) > 1:
            return None
        return None
