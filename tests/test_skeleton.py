"""The skeleton parse (``init_lint.analysis.skeleton``): libcst reads a function's body
only when the analysis runs it.

It must never change a result: for every rule example and fixture the graph built from the
skeleton is the graph built from the full parse (layers, how each is used, every init site
and what it reaches), and the findings and errors are the same with and without it (with
every shortcut of the engine, in test_prefilter.py). A file
with something to report is analyzed again from a full parse, so findings keep their
positions and fixes; a body that is never run is never parsed.
"""

from __future__ import annotations

import ast
import textwrap

import libcst as cst
import pytest
from test_prefilter import SOURCES, findings_or_error

from init_lint import engine
from init_lint.analysis import ModelGraph, build_graph
from init_lint.analysis.skeleton import (
    NeedsFullParse,
    SkeletonBodies,
    build_skeleton,
    identifiers,
)
from init_lint.analysis.walk import descendants
from init_lint.engine import Settings, analyze_text
from init_lint.findings import Finding


def summary(graph: ModelGraph) -> object:
    """Everything the rules read of a graph, without nodes and positions."""
    layers = sorted((key, layer.kind, layer.given_name, layer.fan_in, layer.fan_out,
                     layer.is_norm, layer.is_raw, layer.transposed, layer.shape)
                    for key, layer in graph.layers.items())
    uses = sorted((key, sorted(map(repr, found))) for key, found in graph.uses.items())
    sites = [(site.function, site.form, sorted(site.args.items()), site.tensor_text,
              sorted(site.weight_of), sorted(site.bias_of), site.other, site.unknown,
              site.slice, site.scale_text, site.dispatch, sorted(site.paths.items()),
              len(site.applied)) for site in graph.init_sites]
    return layers, uses, sorted(graph.normalized), sites, graph.incomplete


def skeleton_graph(text: str) -> tuple[ModelGraph, SkeletonBodies] | None:
    skeleton = build_skeleton(text, ast.parse(text))
    if skeleton is None:
        return None
    module = cst.parse_module(skeleton.text)
    bodies = SkeletonBodies(skeleton, text, module)
    return build_graph(module, bodies), bodies


def test_the_graph_of_a_skeleton_is_the_graph_of_the_file() -> None:
    compared = 0
    for name, text in SOURCES.items():
        try:
            full = build_graph(cst.parse_module(text))
            built = skeleton_graph(text)
        except (SyntaxError, cst.ParserSyntaxError, ValueError):
            continue  # the bad-input examples: the engine's errors are compared below
        if built is None:
            continue
        assert summary(built[0]) == summary(full), name
        compared += 1
    assert compared > 100


MODEL = """\
import torch
from torch import nn


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.act = nn.ReLU()
        nn.init.xavier_uniform_(self.fc.weight)

    def forward(self, x):
        return self.act(self.fc(x))

    def extra_repr(self):
        return "a block"
"""


def test_a_body_is_parsed_only_when_the_analysis_runs_it() -> None:
    built = skeleton_graph(MODEL)
    assert built is not None
    _, bodies = built
    ran = {stub.node.name for key, stub in bodies.stubs.items() if key in bodies.parsed}
    # never called: rotate_half (one parameter, but no isinstance to dispatch on: not an
    # init function a framework would apply), extra_repr
    assert ran == {"__init__", "forward"}
    skeleton = build_skeleton(MODEL, ast.parse(MODEL))
    assert skeleton is not None
    assert "chunk" not in skeleton.text and "a block" not in skeleton.text


def test_a_file_with_a_finding_is_analyzed_from_the_full_parse() -> None:
    # Xavier before ReLU: the skeleton cannot give the finding a position.
    assert engine.analyze_skeleton(MODEL, ast.parse(MODEL), Settings()) is None
    [finding] = analyze_text(MODEL, Settings())
    assert (finding.code, finding.line) == ("INI002", 15)
    assert finding.fix is not None
    clean = MODEL.replace("xavier_uniform_(self.fc.weight)", "kaiming_uniform_(self.fc.weight, "
                          "nonlinearity='relu')")
    assert engine.analyze_skeleton(clean, ast.parse(clean), Settings()) == []


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_ends_tabs_and_odd_layouts_read_the_same(
    newline: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = textwrap.dedent("""\
        import torch.nn as nn
        class Net(nn.Module):
        \tdef __init__(self):  # a tab, and a comment after the header
        \t\tsuper().__init__()
        \t\tself.fc = nn.Linear(4, 4)
        \t\tself.act = nn.ReLU()
        \t\tself.s = '''a string
        over lines'''
        # a comment at column 0 inside the body
        \t\tnn.init.xavier_uniform_(self.fc.weight)
        \tdef forward(self, x): return self.act(self.fc(x))
        \tdef f(
        \t\tself,
        \t): return 1
        \tdef g(self):
        \t\t@staticmethod
        \t\tdef h(): pass
        \t\treturn h
        def é(x):
        \tpass
        """).replace("\n", newline)
    skeleton = build_skeleton(source, ast.parse(source))
    assert skeleton is not None
    stubbed = [stub.node.name for stub in skeleton.functions if stub is not None]
    assert stubbed == ["__init__", "g", "é"]  # single-line bodies stay whole
    ast.parse(skeleton.text)
    built = skeleton_graph(source)
    assert built is not None
    assert summary(built[0]) == summary(build_graph(cst.parse_module(source)))
    found = findings_or_error(source, Settings())
    assert [f.code for f in found if isinstance(f, Finding)] == ["INI002"]
    monkeypatch.setattr(engine, "USE_SKELETON", False)
    assert findings_or_error(source, Settings()) == found


def test_a_function_with_an_import_stays_whole() -> None:
    # The module's import aliases count imports anywhere (analysis.names): those bodies
    # are read with the module.
    source = "def f():\n    import torch.nn as nn\n    return nn\n\ndef g():\n    return 1\n"
    skeleton = build_skeleton(source, ast.parse(source))
    assert skeleton is not None
    assert [s is not None for s in skeleton.functions] == [False, True]


NESTED_IMPORTS = """
    class Model:
        def forward(self, x):
            \"\"\"Example:

            >>> from transformers import AutoModel
            >>> import torch
            \"\"\"
            return x  # the word import, in a comment

        def lazy(self):
            if self.x:
                try:
                    pass
                except ImportError:
                    from torch import nn as torch_nn
            return 1

        def nested(self):
            def inner():
                with open("f"):
                    import torch.nn.init as tinit
            return inner

        def matched(self, kind):
            match kind:
                case "a":
                    from torch.nn import init
            return 1
"""


def test_only_an_import_statement_keeps_a_body_whole() -> None:
    # Docstring examples and comments say "import" in many real bodies (most forward
    # methods of transformers): those are still left out; an import statement at any
    # depth (else/except, a nested def, a with, a match case) keeps the body whole.
    source = textwrap.dedent(NESTED_IMPORTS)
    skeleton = build_skeleton(source, ast.parse(source))
    assert skeleton is not None
    assert [s is not None for s in skeleton.functions] == [True, False, False, False]


def test_a_body_libcst_cannot_read_alone_sends_the_file_to_the_full_parse(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = findings_or_error(MODEL, Settings())
    real = cst.parse_module

    def refusing(source: str) -> cst.Module:
        if source.startswith("if 1:"):  # only the bodies read alone
            raise cst.ParserSyntaxError("refused", lines=[source], raw_line=1, raw_column=0)
        return real(source)

    monkeypatch.setattr(cst, "parse_module", refusing)  # the skeleton reads it at call time
    with pytest.raises(NeedsFullParse):
        skeleton_graph(MODEL)
    assert findings_or_error(MODEL, Settings()) == expected
    clean = MODEL.replace("xavier_uniform_", "zeros_").replace("self.fc.weight", "self.fc.bias")
    assert engine.analyze_skeleton(clean, ast.parse(clean), Settings()) is None
    assert findings_or_error(clean, Settings()) == []


BODY_NAMES = """\
def f(self, x: Annotated[Hidden, 1] = Default, *args: Star, key=Key, **kw) -> Returned:
    import a.b as c
    from .d.e import f as g, h
    global G
    nonlocal_ = [y for y in Comp if Cond]
    value: Anno = Assigned
    self.Attr(Keyword=Kw, **Spread)
    lambda LamArg: LamBody
    f"{Formatted:{Spec}}"
    try:
        pass
    except Error as Caught:
        pass
    match Subject:
        case Point(x=Bound, y=[*Rest]) | {"k": Val, **More} as Whole:
            pass
    class Inner(Base, metaclass=Meta):
        @Decorated
        def method(self, p: Hint) -> Out:
            return Used
"""


def test_identifiers_are_the_names_libcst_sees_outside_annotations() -> None:
    tree = ast.parse(BODY_NAMES)
    function = tree.body[0]
    assert isinstance(function, ast.FunctionDef)
    module = cst.parse_module(BODY_NAMES)
    node = module.body[0]
    assert isinstance(node, cst.FunctionDef)
    expected = {n.value for n in descendants(node.body, prune=(cst.Annotation,))
                if isinstance(n, cst.Name)} - {"True", "False", "None"}
    assert set(identifiers(function.body)) == expected
    assert "Anno" not in expected and "Hint" not in expected and "Used" in expected


ANNOTATED = """\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, width: int = 8, *sizes: "int", scale: (float) = 1.0,
                 gain: dict[str,  # a comment inside an annotation
                            float] | None = None, **kw: Unpack[Kw]) -> None:
        super().__init__()
        self.fc = nn.Linear(width, width)
        nn.init.kaiming_uniform_(self.fc.weight, nonlinearity="relu")

    def forward(self, x: torch.Tensor, é: Ünïcode = "ü") -> (
            torch.Tensor):
        return torch.relu(self.fc(x))

    async def run(self, x: int) -> \\
            int:
        return x
"""


def test_signature_annotations_are_left_out_of_the_skeleton() -> None:
    skeleton = build_skeleton(ANNOTATED, ast.parse(ANNOTATED))
    assert skeleton is not None
    headers = skeleton.text.split("class Net(nn.Module):")[1]
    for gone in ("int =", '"int"', "dict[str", "comment inside", "Unpack", "-> None",
                 "torch.Tensor,", "Ünïcode"):
        assert gone not in headers, gone
    # kept: defaults; an annotation in parentheses (CPython's position leaves them out,
    # so cutting it would leave a ")"); a return annotation after a line continuation
    for kept in ("width = 8", "*sizes,", '= "ü"', "scale: (float) = 1.0", "-> (", "-> \\"):
        assert kept in headers, kept
    built = skeleton_graph(ANNOTATED)
    assert built is not None
    assert summary(built[0]) == summary(build_graph(cst.parse_module(ANNOTATED)))
