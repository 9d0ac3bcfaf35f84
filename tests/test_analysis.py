"""The ModelGraph: every layer, activation, pairing and init-site form of DESIGN.md.

These tests look at the graph itself (what the rules read), so a pairing regression
shows here even where no rule would fire.
"""

from __future__ import annotations

import textwrap

import libcst as cst

from init_lint.analysis import build_graph
from init_lint.analysis.graph import ModelGraph

_SOURCES: dict[int, str] = {}


def graph_of(source: str) -> ModelGraph:
    graph = build_graph(cst.parse_module(textwrap.dedent(source)))
    _SOURCES[id(graph)] = textwrap.dedent(source)
    return graph


def line_of(graph: ModelGraph, text: str) -> int:
    """The (1-based) line of the graph's source that contains ``text``."""
    lines = _SOURCES[id(graph)].splitlines()
    found = [i for i, line in enumerate(lines, 1) if text in line]
    assert len(found) == 1, f"{text!r} found on lines {found}"
    return found[0]


def layer_key(graph: ModelGraph, name: str) -> int:
    matches = [k for k, layer in graph.layers.items() if layer.name == name]
    assert matches, f"no layer {name!r} in {[layer.name for layer in graph.layers.values()]}"
    return matches[0]


def pairing(graph: ModelGraph, name: str) -> set[tuple[str | None, str]]:
    """{(activation name, consumer)} for a layer."""
    return {(u.act.name, u.consumer.value) for u in graph.uses_of(layer_key(graph, name))}


def site_at(graph: ModelGraph, text: str):  # type: ignore[no-untyped-def]
    line = line_of(graph, text)
    sites = [s for s in graph.init_sites if s.start.line == line]
    assert len(sites) == 1, f"{len(sites)} init sites on line {line}"
    return sites[0]


def targets(graph: ModelGraph, text: str) -> set[str]:
    line = line_of(graph, text)
    sites = [s for s in graph.init_sites if s.start.line == line]
    assert sites, f"no init site on line {line}"
    return {graph.layers[k].name for s in sites for k in s.weight_of if k in graph.layers}


HEADER = """
import math
from collections import OrderedDict
import torch
import torch.nn as nn
import torch.nn.functional as F
"""


def test_attribute_layers_pair_through_nested_functional_calls() -> None:
    g = graph_of(HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))
""")
    assert pairing(g, "fc1") == {("relu", "layer")}
    assert pairing(g, "fc2") == {(None, "output")}
    fc1 = g.layers[layer_key(g, "fc1")]
    assert (fc1.fan_in, fc1.fan_out) == (784, 256)


def test_reassignment_chain_and_attribute_activation() -> None:
    g = graph_of(HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.act = nn.LeakyReLU(0.2)
        self.out = nn.Linear(8, 1)

    def forward(self, x):
        x = self.fc(x)
        x = self.act(x)
        x = self.out(x)
        return x
""")
    uses = g.uses_of(layer_key(g, "fc"))
    assert {(u.act.name, u.act.param) for u in uses} == {("leaky_relu", 0.2)}


def test_default_argument_activation_class() -> None:
    g = graph_of(HEADER + """
class Mlp(nn.Module):
    def __init__(self, dim=16, act_layer=nn.GELU):
        super().__init__()
        self.fc1 = nn.Linear(dim, dim * 4)
        self.act = act_layer()
        self.fc2 = nn.Linear(dim * 4, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))
""")
    assert pairing(g, "fc1") == {("gelu", "layer")}
    # Shapes from a parameter's default are a guess, not a literal: fans stay unknown.
    assert g.layers[layer_key(g, "fc1")].fan_out is None


def test_class_instantiated_with_other_activation_uses_the_argument() -> None:
    g = graph_of(HEADER + """
class Mlp(nn.Module):
    def __init__(self, act_layer=nn.GELU):
        super().__init__()
        self.fc1 = nn.Linear(16, 16)
        self.act = act_layer()
        self.fc2 = nn.Linear(16, 16)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))

class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.mlp = Mlp(act_layer=nn.Tanh)

    def forward(self, x):
        return self.mlp(x)
""")
    assert pairing(g, "fc1") == {("tanh", "layer")}


def test_functional_leaky_relu_slope_and_tensor_methods() -> None:
    g = graph_of(HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.b = nn.Linear(4, 4)
        self.c = nn.Linear(4, 4)
        self.d = nn.Linear(4, 4)

    def forward(self, x):
        x = F.leaky_relu(self.a(x), 0.1)
        x = self.b(x).relu()
        x = torch.tanh(self.c(x))
        return self.d(x).sigmoid()
""")
    uses = g.uses_of(layer_key(g, "a"))
    assert {(u.act.name, u.act.param) for u in uses} == {("leaky_relu", 0.1)}
    assert pairing(g, "b") == {("relu", "layer")}
    assert pairing(g, "c") == {("tanh", "layer")}
    assert pairing(g, "d") == {("sigmoid", "output")}


def test_sequential_positional_skips_dropout_pooling_flatten_identity() -> None:
    g = graph_of(HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 8, 3), nn.MaxPool2d(2), nn.ReLU(), nn.Flatten(),
            nn.Dropout(0.5), nn.Identity(), nn.Linear(8, 4), nn.Tanh(), nn.Linear(4, 1))
        nn.init.xavier_uniform_(self.net[0].weight)
        nn.init.xavier_uniform_(self.net[-1].weight)

    def forward(self, x):
        return self.net(x)
""")
    assert pairing(g, "net[0]") == {("relu", "layer")}
    assert pairing(g, "net[6]") == {("tanh", "layer")}
    assert targets(g, "self.net[0].weight") == {"net[0]"}
    assert targets(g, "self.net[-1].weight") == {"net[8]"}


def test_ordered_dict_sequential_addressed_by_name() -> None:
    g = graph_of(HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.seq = nn.Sequential(OrderedDict([
            ("fc1", nn.Linear(4, 4)), ("act", nn.SiLU()), ("fc2", nn.Linear(4, 2))]))
        nn.init.zeros_(self.seq.fc1.weight)

    def forward(self, x):
        return self.seq(x)
""")
    assert pairing(g, "seq.fc1") == {("silu", "layer")}
    assert targets(g, "zeros_(self.seq.fc1.weight)") == {"seq.fc1"}


def test_lists_built_with_append_extend_and_plus_equals() -> None:
    g = graph_of(HEADER + """
def make(depth=3):
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(8, 8), nn.ReLU()]
    layers.extend([nn.Linear(8, 8), nn.Tanh()])
    layers.append(nn.Linear(8, 1))
    return nn.Sequential(*layers)

model = make()
""")
    names = {layer.name for layer in g.layers.values()}
    assert "model[0]" in names
    assert pairing(g, "model[0]") == {("relu", "layer")}
    assert pairing(g, "model[6]") == {("tanh", "layer")}
    assert pairing(g, "model[8]") == {(None, "output")}


def test_module_list_iterated_in_forward_with_index_arithmetic() -> None:
    g = graph_of(HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(8, 8) for _ in range(3)])

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x
""")
    # The same construction makes all three layers: hidden ones feed ReLU, the last one
    # is the output, so the pairing is not unanimous (and no rule may act on it).
    assert pairing(g, "layers[0]") == {("relu", "layer"), (None, "output")}


def test_branches_that_disagree_give_a_set() -> None:
    g = graph_of(HEADER + """
class Net(nn.Module):
    def __init__(self, use_tanh=False):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.out = nn.Linear(8, 1)
        self.use_tanh = use_tanh

    def forward(self, x):
        if self.use_tanh:
            x = torch.tanh(self.fc(x))
        else:
            x = F.relu(self.fc(x))
        return self.out(x)
""")
    assert pairing(g, "fc") == {("tanh", "layer"), ("relu", "layer")}


def test_residual_addition_and_gates() -> None:
    g = graph_of(HEADER + """
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 8)
        self.proj = nn.Linear(8, 8)
        self.gate = nn.Linear(8, 8)
        self.value = nn.Linear(8, 8)

    def forward(self, x):
        h = self.proj(F.gelu(self.fc1(x)))
        x = x + h
        return torch.sigmoid(self.gate(x)) * self.value(x)
""")
    assert pairing(g, "proj") == {(None, "residual")}
    assert pairing(g, "gate") == {("sigmoid", "gate")}
    assert pairing(g, "value") == {(None, "gate")}


def test_sum_of_two_projections_flows_into_the_activation() -> None:
    g = graph_of(HEADER + """
class Cell(nn.Module):
    def __init__(self):
        super().__init__()
        self.i2h = nn.Linear(8, 16)
        self.h2h = nn.Linear(16, 16)
        self.out = nn.Linear(16, 1)

    def forward(self, x, h):
        h = torch.tanh(self.i2h(x) + self.h2h(h))
        return self.out(h)
""")
    assert pairing(g, "i2h") == {("tanh", "layer")}
    assert pairing(g, "h2h") == {("tanh", "layer")}


def test_normalization_between_layer_and_activation_and_in_the_model() -> None:
    g = graph_of(HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        self.head = nn.Linear(8, 10)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        return self.head(x.mean((2, 3)))
""")
    conv = layer_key(g, "conv")
    assert all(u.normed for u in g.uses_of(conv))
    assert layer_key(g, "head") in g.normalized  # the model applies BatchNorm


def test_raw_parameter_weights_and_their_fans() -> None:
    g = graph_of(HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.W = nn.Parameter(torch.randn(32, 64))
        self.V = nn.Parameter(torch.randn(16, 64))
        self.pos = nn.Parameter(torch.zeros(1, 64))
        self.scaled = nn.Parameter(torch.randn(64, 64))

    def forward(self, x):
        h = F.relu(x @ self.W) + self.pos
        h = F.linear(h, self.V)
        return h @ (self.scaled * 0.1)
""")
    w = g.layers[layer_key(g, "W")]
    assert (w.fan_in, w.fan_out, w.transposed) == (32, 64, True)
    v = g.layers[layer_key(g, "V")]
    assert (v.fan_in, v.fan_out, v.transposed) == (64, 16, False)
    names = {layer.name for layer in g.layers.values()}
    assert "pos" not in names  # added, not multiplied: not a weight
    assert "scaled" not in names  # transformed at the use site: unknown effective init


def test_isinstance_dispatch_in_modules_loop_and_apply() -> None:
    g = graph_of(HEADER + """
def init_conv(m):
    if type(m) == nn.Conv2d:
        nn.init.kaiming_normal_(m.weight, nonlinearity="relu")

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 2)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.BatchNorm2d)):
                nn.init.constant_(m.weight, 1)
        self.apply(init_conv)

    def forward(self, x):
        return self.fc(self.bn(self.conv(x)).relu().mean((2, 3)))
""")
    assert targets(g, "kaiming_normal_(m.weight") == {"conv"}
    site = site_at(g, "constant_(m.weight, 1)")
    reached = {g.layers[k].name for k in site.weight_of}
    assert reached == {"fc", "bn"}
    assert site.dispatch


def test_parameter_loops_with_dim_and_name_filters() -> None:
    g = graph_of(HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.norm = nn.LayerNorm(8)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        for name, p in self.named_parameters():
            if "bias" in name:
                nn.init.zeros_(p)

    def forward(self, x):
        return self.norm(self.fc(x))
""")
    assert targets(g, "xavier_uniform_(p)") == {"fc"}
    bias_site = site_at(g, "zeros_(p)")
    assert bias_site.weight_of == set() and len(bias_site.bias_of) == 2


def test_reset_parameters_helper_called_from_init_and_module_level_helper() -> None:
    g = graph_of(HEADER + """
def init_mlp(seq):
    for m in seq.modules():
        if isinstance(m, nn.Linear):
            nn.init.orthogonal_(m.weight)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4))
        self.fc = nn.Linear(4, 1)
        init_mlp(self.body)
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.xavier_normal_(self.fc.weight)

    def forward(self, x):
        return self.fc(self.body(x))
""")
    assert targets(g, "orthogonal_(m.weight)") == {"body[0]", "body[2]"}
    assert targets(g, "xavier_normal_(self.fc.weight)") == {"fc"}


def test_child_class_layers_take_the_activation_of_the_parent_forward() -> None:
    g = graph_of(HEADER + """
class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(8, 8)

    def forward(self, x):
        return self.proj(x)

class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = Encoder()
        self.head = nn.Linear(8, 1)

    def forward(self, x):
        return self.head(F.elu(self.enc(x)))
""")
    assert pairing(g, "proj") == {("elu", "layer")}


def test_init_site_forms_record_function_and_arguments() -> None:
    g = graph_of(HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.out = nn.Linear(8, 1)
        self.fc.weight.data.normal_(0, 0.5)
        self.fc.bias.data.fill_(0.1)
        self.fc.weight.data[:4].fill_(1.0)
        self.W = nn.Parameter(torch.randn(8, 8) * 0.02)
        nn.init.xavier_uniform_(self.out.weight, gain=nn.init.calculate_gain("tanh"))

    def forward(self, x):
        return self.out(torch.tanh(self.fc(x) @ self.W))
""")
    normal = site_at(g, "normal_(0, 0.5)")
    assert normal.function == "normal_" and normal.args["std"].value == 0.5
    bias = site_at(g, "fill_(0.1)")
    assert bias.bias_of and not bias.weight_of
    assert site_at(g, "[:4].fill_(1.0)").slice
    param = site_at(g, "nn.Parameter(torch.randn(8, 8) * 0.02)")
    assert param.form == "parameter" and param.args["std"].value == 0.02
    gain = site_at(g, "calculate_gain").args["gain"]
    assert gain.gain_name == "tanh" and abs(float(gain.value or 0) - 5 / 3) < 1e-9


def test_static_method_passed_to_apply_gets_each_module() -> None:
    g = graph_of(HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.bn = nn.BatchNorm1d(8)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.BatchNorm1d)):
            nn.init.uniform_(m.weight, -0.05, 0.05)

    def forward(self, x):
        return self.bn(self.fc(x))
""")
    site = site_at(g, "uniform_(m.weight")
    assert {g.layers[k].name for k in site.weight_of} == {"fc", "bn"}


def test_raw_convolution_kernel_has_torch_fans() -> None:
    g = graph_of(HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.kernel = nn.Parameter(torch.randn(16, 3, 5, 5) * 0.1)

    def forward(self, x):
        return F.relu(F.conv2d(x, self.kernel))
""")
    kernel = g.layers[layer_key(g, "kernel")]
    assert (kernel.fan_in, kernel.fan_out) == (3 * 25, 16 * 25)


def test_helper_called_with_different_arguments_has_no_single_value() -> None:
    g = graph_of(HEADER + """
def layer_init(layer, std=math.sqrt(2)):
    nn.init.orthogonal_(layer.weight, std)
    return layer

class Agent(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(layer_init(nn.Linear(8, 64)), nn.Tanh(),
                                  layer_init(nn.Linear(64, 64)), nn.Tanh())
        self.actor = layer_init(nn.Linear(64, 2), std=0.01)

    def forward(self, x):
        return self.actor(self.body(x))
""")
    site = site_at(g, "orthogonal_(layer.weight, std)")
    assert len(site.weight_of) == 3
    assert site.args["gain"].value is None  # sqrt(2) for two calls, 0.01 for the third


def test_a_class_built_with_other_sizes_has_no_single_fan() -> None:
    g = graph_of(HEADER + """
class Block(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.fc = nn.Linear(cin, cout)

    def forward(self, x):
        return F.relu(self.fc(x))

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Block(16, 32)
        self.b = Block(32, 32)
        self.same = nn.ModuleList([Block(8, 8), Block(8, 8)])

    def forward(self, x):
        return self.b(self.a(x))
""")
    fcs = [layer for layer in g.layers.values() if layer.name == "fc"]
    assert len(fcs) == 1 and fcs[0].fan_in is None and fcs[0].fan_out is None


def test_model_applying_a_submodule_we_cannot_see_may_be_normalized() -> None:
    g = graph_of(HEADER + """
class VGGLike(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.features = features
        self.classifier = nn.Sequential(nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))
""")
    assert layer_key(g, "classifier[0]") in g.normalized


def test_leaky_relu_with_an_unknown_slope_is_still_a_rectifier() -> None:
    g = graph_of(HEADER + """
class Net(nn.Module):
    def __init__(self, alpha):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.act = nn.LeakyReLU(alpha)
        self.out = nn.Linear(8, 1)

    def forward(self, x):
        return self.out(self.act(self.fc(x)))
""")
    (use,) = g.uses_of(layer_key(g, "fc"))
    assert (use.act.name, use.act.param_known) == ("leaky_relu", False)


def test_spectral_norm_makes_the_scale_of_the_init_irrelevant() -> None:
    g = graph_of(HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.utils.spectral_norm(nn.Linear(8, 8))
        self.out = nn.Linear(8, 1)

    def forward(self, x):
        return self.out(F.relu(self.fc(x)))
""")
    assert layer_key(g, "fc") in g.normalized
    assert layer_key(g, "out") not in g.normalized


def test_raw_vector_is_not_a_layer_weight() -> None:
    g = graph_of(HEADER + """
class Scores(nn.Module):
    def __init__(self):
        super().__init__()
        self.v = nn.Parameter(torch.rand(64))

    def forward(self, energy):
        return F.softmax(energy @ self.v, dim=1)
""")
    assert "v" not in {layer.name for layer in g.layers.values()}


def test_a_shape_given_as_a_list_or_tuple_is_the_shape() -> None:
    g = graph_of(HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.W = nn.Parameter(torch.randn([32, 64]))
        self.V = nn.Parameter(torch.randn((16, 64)))

    def forward(self, x):
        return F.linear(x @ self.W, self.V)
""")
    w = g.layers[layer_key(g, "W")]
    assert (w.shape, w.fan_in, w.fan_out) == ((32, 64), 32, 64)  # not a 1-D vector
    assert g.layers[layer_key(g, "V")].shape == (16, 64)


def test_named_children_and_fstring_keys_have_their_names() -> None:
    g = graph_of(HEADER + """
def build(n=2):
    layers = [(f"fc{i}", nn.Linear(8, 8)) for i in range(n)]
    net = nn.Sequential(OrderedDict(layers + [("out", nn.Linear(8, 1))]))
    for name, m in net.named_children():
        if name == "out":
            nn.init.zeros_(m.weight)
    return net

model = build()
""")
    assert targets(g, "zeros_(m.weight)") == {"net.out"}
    # one construction site (the comprehension) is one layer, named where first stored
    assert {layer.name for layer in g.layers.values()} == {"net.fc0", "net.out"}


def test_submodule_only_a_framework_calls_still_runs_its_forward() -> None:
    g = graph_of(HEADER + """
from torch_geometric.nn import MessagePassing

class EdgeMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin1 = nn.Linear(8, 16)
        self.lin2 = nn.Linear(16, 8)

    def forward(self, h):
        return self.lin2(F.relu(self.lin1(h)))

class Conv(MessagePassing):
    def __init__(self):
        super().__init__(aggr="add")
        self.mlp = EdgeMLP()

    def forward(self, x, edge_index):
        return self.propagate(edge_index, x=x)

    def message(self, x_i, x_j):
        return self.mlp(torch.cat([x_i, x_j], dim=-1))
""")
    assert pairing(g, "lin1") == {("relu", "layer")}


UNCALLED_INIT_OVER_COPIES = """
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return self.fc(x)

class PreTrained(nn.Module):
    def _init_weights(self, module):
        if isinstance(module, nn.Linear) and {test}:
            nn.init.zeros_(module.weight)

class Model(PreTrained):
    def __init__(self):
        super().__init__()
        self.encoder = Block()
        self.decoder = Block()

    def forward(self, x):
        return self.decoder(self.encoder(x))
"""


def test_uncalled_init_function_sees_a_copy_it_tells_apart_by_identity() -> None:
    # encoder.fc and decoder.fc are copies of one layer (one construction site): a call
    # on one copy stands for both, unless the function tells them apart with `is`.
    g = graph_of(HEADER + UNCALLED_INIT_OVER_COPIES.format(test="module is self.decoder.fc"))
    assert targets(g, "zeros_(module.weight)") == {"fc"}
    g = graph_of(HEADER + UNCALLED_INIT_OVER_COPIES.format(test="module.out_features == 8"))
    assert targets(g, "zeros_(module.weight)") == {"fc"}


def test_a_method_testing_for_strings_is_not_an_init_function() -> None:
    # ESMFold's infer_pdb(seqs): one parameter and an isinstance test, but on plain
    # values. Applied to every module as an init function it re-ran the whole inference
    # once per module (and ran the analysis out of its step budget).
    g = graph_of(HEADER + """
class Folding(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return torch.relu(self.fc(x))

    def infer(self, seqs):
        if isinstance(seqs, (str, list)):
            nn.init.zeros_(self.fc.weight)

    def init_weights(self, m):
        if isinstance(m, (nn.Linear, str)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
""")
    assert not [s for s in g.init_sites if s.function == "zeros_"]
    assert targets(g, "kaiming_normal_(m.weight") == {"fc"}
