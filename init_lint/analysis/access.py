"""Access paths: how the code of a method reaches each layer of its model from ``self``.

A fix that treats the layers one init site reaches differently (``if m is self.head:``)
must name them in the source. A path is only offered when it denotes the same layer
whatever the model's parameters: attributes assigned as ``self.name = ...`` (not through
``setattr``/``add_module`` with a computed name, not possibly missing), positions of a
``nn.Sequential``/``nn.ModuleList`` the source writes out item by item (not ``*layers``
built in a loop), keys of an ``OrderedDict``/``nn.ModuleDict`` written as literals.
"""

from __future__ import annotations

import keyword

from init_lint.analysis.graph import AccessPath
from init_lint.analysis.values import (
    DictObj,
    Instance,
    LayerMod,
    ListObj,
    ModuleObj,
    SeqMod,
    TransformerLayerMod,
    Value,
    options,
)

# Names an ``nn.Sequential``/``nn.Module`` attribute lookup finds before its submodules.
_MODULE_API = frozenset({
    "add_module", "append", "apply", "bfloat16", "buffers", "children", "cpu", "cuda",
    "double", "dump_patches", "eval", "extend", "extra_repr", "float", "forward",
    "get_buffer", "get_parameter", "get_submodule", "half", "insert", "load_state_dict",
    "modules", "named_buffers", "named_children", "named_modules", "named_parameters",
    "parameters", "pop", "register_buffer", "register_module", "register_parameter",
    "requires_grad_", "share_memory", "state_dict", "to", "to_empty", "train", "training",
    "type", "xpu", "zero_grad",
})

# One child: (the value, the steps to it, whether they are valid for every parameter).
_Child = tuple[Value, AccessPath, bool]


def _position(i: int, size: int, stable: int, tail: int) -> tuple[int, bool]:
    """Item ``i``'s index as the source can write it for every parameter: from the start
    within the stable prefix, from the end (``-1``) within the stable tail."""
    if i < stable:
        return i, True
    if size - i <= tail:
        return i - size, True
    return i, False


def _attribute_ok(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_") \
        and name not in _MODULE_API


def _children(module: Value) -> list[_Child]:
    found: list[_Child] = []
    if isinstance(module, Instance):
        for attr, value in module.attrs.items():
            opts = options(value)
            attr_ok = _attribute_ok(attr) and attr not in module.dynamic_attrs and all(
                isinstance(o, (ModuleObj, ListObj, DictObj)) for o in opts)
            for opt in opts:
                if isinstance(opt, ModuleObj):
                    found.append((opt, (("attr", attr),), attr_ok))
                elif isinstance(opt, ListObj) and opt.module_list:
                    for i, item in enumerate(opt.items):
                        index, ok = _position(i, len(opt.items), opt.stable, opt.tail)
                        for one in options(item):
                            found.append((one, (("attr", attr), ("index", index)),
                                          attr_ok and ok))
                elif isinstance(opt, DictObj) and opt.module_dict:
                    for key, item in opt.items.items():
                        for one in options(item):
                            found.append((one, (("attr", attr), ("key", key)),
                                          attr_ok and key in opt.literal_keys))
        for i, item in enumerate(module.seq_items or ()):
            for one in options(item):
                found.append((one, (("index", i),), False))
    elif isinstance(module, SeqMod):
        for i, (name, item) in enumerate(zip(module.names, module.items, strict=False)):
            for one in options(item):
                if name.isdigit():
                    index, ok = _position(i, len(module.items), module.stable, module.tail)
                    found.append((one, (("index", index),), ok))
                else:
                    found.append((one, (("attr", name),),
                                  name in module.literal_names and _attribute_ok(name)))
    elif isinstance(module, TransformerLayerMod):
        for name, child in module.named_children():
            found.append((child, tuple(("attr", part) for part in name.split(".")), True))
    return found


class PathTable:
    """The layers under one root (a method's ``self``, or the receiver of ``.apply``: a
    model, a ``nn.Sequential``, a layer): each key's stable paths, and which objects it
    has. A layer root is its own layer, at the empty path."""

    def __init__(self, root: Value) -> None:
        best: dict[int, AccessPath | None] = {}  # id(object) -> path
        keys: dict[int, int] = {}  # id(object) -> layer key
        seen: set[int] = {id(root)}
        queue: list[tuple[Value, AccessPath, bool]] = [(root, (), True)]
        if isinstance(root, LayerMod):
            keys[id(root)] = root.key
            best[id(root)] = ()
        while queue:
            module, path, ok = queue.pop(0)
            for child, step, step_ok in _children(module):
                child_path = path + step
                child_ok = ok and step_ok
                if isinstance(child, LayerMod):
                    keys[id(child)] = child.key
                    if best.get(id(child)) is None:
                        best[id(child)] = child_path if child_ok else None
                if id(child) in seen:
                    continue
                seen.add(id(child))
                if isinstance(child, (Instance, SeqMod, TransformerLayerMod)):
                    queue.append((child, child_path, child_ok))
        found: dict[int, list[AccessPath] | None] = {}
        self.objects: dict[int, set[int]] = {}
        for obj, key in keys.items():
            self.objects.setdefault(key, set()).add(obj)
            stable = best.get(obj)
            current = found.setdefault(key, [])
            if stable is None or current is None:
                found[key] = None
            else:
                current.append(stable)
        #: For each layer key under the root: one stable path per layer object with that
        #: key (breadth first: the shortest), or None when some object of the key has none.
        self.paths: dict[int, tuple[AccessPath, ...] | None] = {
            key: tuple(sorted(paths)) if paths is not None else None
            for key, paths in found.items()}
