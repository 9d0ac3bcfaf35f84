"""Modules as values: applying them to tensors (``forward``), and what ``modules()``,
``children()`` and ``named_parameters()`` enumerate; ``.apply(fn)`` and friends."""

from __future__ import annotations

import libcst as cst

from init_lint.analysis.base import (
    _RETURNS_SELF,
    InterpreterBase,
    _conv_dims,
    _weight_dim,
)
from init_lint.analysis.graph import ApplyRun, Consumer
from init_lint.analysis.values import (
    EMPTY_TENSOR,
    NONE,
    UNKNOWN,
    ActMod,
    Choice,
    Const,
    DictObj,
    FuncRef,
    Instance,
    LayerMod,
    ListObj,
    ModuleObj,
    OtherMod,
    Param,
    PassMod,
    SeqMod,
    TensorRef,
    TransformerLayerMod,
    TupleV,
    Value,
    choice,
    options,
)


class ModuleMixin(InterpreterBase):
    # --- modules as callables -------------------------------------------------------

    def call_module(self, module: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
        """Apply a module value to tensors: the heart of pairing."""
        x = args[0] if args else (next(iter(kwargs.values())) if kwargs else EMPTY_TENSOR)
        if isinstance(module, Choice):
            return choice([self.call_module(o, args, kwargs) for o in module.options])
        if isinstance(module, LayerMod):
            if self.records[module.key].is_norm:
                return self.apply_norm(x)
            return self.apply_layer(module.key, x)
        if isinstance(module, ActMod):
            return self.apply_activation(module.act, x)
        if isinstance(module, PassMod):
            return x
        if isinstance(module, OtherMod):
            if module.normalizing:
                self.container_stack.append(module)
                self.apply_norm(EMPTY_TENSOR)
                self.container_stack.pop()
            return self.unknown_call(args + list(kwargs.values()))
        if isinstance(module, TransformerLayerMod):
            return self.run_transformer_layer(module, x)
        if isinstance(module, SeqMod):
            self.container_stack.append(module)
            try:
                for item in module.items:
                    x = self.call_module(item, [x], {})
            finally:
                self.container_stack.pop()
            return x
        if isinstance(module, Instance):
            found = module.cls.find_method("forward")
            self.container_stack.append(module)
            self.forward_ran.add(id(module))
            try:
                if found is None:
                    if module.seq_items is not None:
                        return self.call_module(SeqMod(module.seq_items, []), args, kwargs)
                    return self.unknown_call(args + list(kwargs.values()))
                owner, forward = found
                return self.call_function(FuncRef(forward, None, owner), args, kwargs,
                                          receiver=module)
            finally:
                self.container_stack.pop()
        return self.unknown_call(args + list(kwargs.values()))

    def run_transformer_layer(self, layer: TransformerLayerMod, x: Value) -> Value:
        """What PyTorch's transformer layer does with its input, as pairing sees it."""
        self.container_stack.append(layer)
        try:
            self.consume(x, Consumer.OTHER)  # attention's in-projection (a raw weight)
            attended = self.apply_layer(layer.out_proj.key, EMPTY_TENSOR)
            self.consume(attended, Consumer.RESIDUAL)
            hidden = self.apply_norm(EMPTY_TENSOR)
            hidden = self.apply_layer(layer.linear1.key, hidden)
            hidden = self.apply_activation(layer.activation.act, hidden)
            hidden = self.apply_layer(layer.linear2.key, hidden)
            self.consume(hidden, Consumer.RESIDUAL)
            return self.apply_norm(EMPTY_TENSOR)
        finally:
            self.container_stack.pop()

    def modules_of(self, root: Value) -> list[Value]:
        """``root.modules()``: the root and every submodule, depth first, once each."""
        found: list[Value] = []
        self._walk_modules(root, found, set())
        return found

    # The walks are methods, not closures: a recursive closure is a reference cycle that
    # would keep the interpreter (and the file's tree) alive until the collector runs.
    def _walk_modules(self, value: Value, found: list[Value], seen: set[int]) -> None:
        for opt in options(value):
            if id(opt) in seen:
                continue
            if isinstance(opt, (ModuleObj,)):
                seen.add(id(opt))
                if not (isinstance(opt, PassMod) and opt.kind == "Maybe"):
                    found.append(opt)
                for child in self.children_of(opt):
                    self._walk_modules(child, found, seen)
            elif opt is UNKNOWN:
                if not any(f is UNKNOWN for f in found):
                    found.append(UNKNOWN)

    def children_of(self, module: Value) -> list[Value]:
        return [child for _, child in self.named_children_of(module)]

    def named_children_of(self, module: Value) -> list[tuple[Value, Value]]:
        """``module.named_children()``, with the items of a ModuleList/ModuleDict named
        ``attr.i`` / ``attr.key`` directly (their container adds nothing to pair)."""
        if isinstance(module, TransformerLayerMod):
            return [(Const(name), child) for name, child in module.named_children()]
        if isinstance(module, SeqMod):
            return [(Const(name), item) for name, item in zip(module.names, module.items,
                                                               strict=False)]
        if isinstance(module, Instance):
            children: list[tuple[Value, Value]] = []
            for attr, value in module.attrs.items():
                for opt in options(value):
                    if isinstance(opt, ModuleObj):
                        children.append((Const(attr), opt))
                    elif isinstance(opt, ListObj) and opt.module_list:
                        children.extend((Const(f"{attr}.{i}"), item)
                                        for i, item in enumerate(opt.items))
                    elif isinstance(opt, DictObj) and opt.module_dict:
                        children.extend((Const(f"{attr}.{key}"), item)
                                        for key, item in opt.items.items())
            if module.seq_items:
                children.extend((Const(str(i)), item) for i, item in enumerate(module.seq_items))
            if any(b not in ("torch.nn.Module", "torch.nn.Sequential", "torch.nn.ModuleList")
                   for b in module.cls.external_bases()):
                children.append((UNKNOWN, UNKNOWN))
            return children
        return []

    def named_modules_of(self, root: Value) -> list[Value]:
        """``root.named_modules()`` as (dotted name, module) tuples, the root named ""."""
        found: list[Value] = []
        self._walk_named_modules(Const(""), root, found, set())
        return found

    def _walk_named_modules(self, name: Value, value: Value, found: list[Value],
                            seen: set[int]) -> None:
        for opt in options(value):
            if id(opt) in seen:
                continue
            if isinstance(opt, ModuleObj):
                seen.add(id(opt))
                found.append(TupleV((name, opt)))
                for child_name, child in self.named_children_of(opt):
                    joined: Value = UNKNOWN
                    if isinstance(name, Const) and isinstance(child_name, Const):
                        joined = Const(f"{name.value}.{child_name.value}" if name.value
                                       else str(child_name.value))
                    self._walk_named_modules(joined, child, found, seen)
            elif opt is UNKNOWN:
                found.append(TupleV((UNKNOWN, UNKNOWN)))

    def named_parameters_of(self, root: Value) -> list[Value]:
        """``root.named_parameters()`` as (name, TensorRef) tuples."""
        result: list[Value] = []
        self._walk_parameters(root, "", set(), result)
        return result

    def _walk_parameters(self, value: Value, prefix: str, seen: set[int],
                         result: list[Value]) -> None:
        for opt in options(value):
            if id(opt) in seen:
                continue
            seen.add(id(opt))
            if isinstance(opt, LayerMod):
                rec = self.records[opt.key]
                role = "norm" if rec.is_norm else "layer"
                dim = len(rec.shape) + (0 if rec.kind.startswith(("Linear", "Bilinear"))
                                        else _conv_dims(rec.kind)) if rec.shape else (
                    1 if rec.is_norm else _weight_dim(rec.kind))
                result.append(TupleV((Const(prefix + "weight"),
                                      TensorRef(opt.key, "weight", role, dim))))
                if opt.has_bias:
                    result.append(TupleV((Const(prefix + "bias"),
                                          TensorRef(opt.key, "bias", role, 1))))
            elif isinstance(opt, OtherMod):
                result.append(TupleV((UNKNOWN, TensorRef(opt.key, "?", "other", None))))
            elif isinstance(opt, SeqMod):
                for item, name in zip(opt.items, opt.names, strict=False):
                    self._walk_parameters(item, f"{prefix}{name}.", seen, result)
            elif isinstance(opt, TransformerLayerMod):
                for name, item in opt.named_children():
                    self._walk_parameters(item, f"{prefix}{name}.", seen, result)
            elif isinstance(opt, Instance):
                for name, attr in opt.attrs.items():
                    for a in options(attr):
                        if isinstance(a, Param):
                            dim = len(a.shape) if a.shape is not None else None
                            result.append(TupleV((Const(prefix + name),
                                                  TensorRef(a.key, "weight", "raw", dim))))
                        elif isinstance(a, ModuleObj):
                            self._walk_parameters(a, f"{prefix}{name}.", seen, result)
                        elif isinstance(a, ListObj) and a.module_list:
                            for i, item in enumerate(a.items):
                                self._walk_parameters(item, f"{prefix}{name}.{i}.", seen, result)
                        elif isinstance(a, DictObj) and a.module_dict:
                            for k, item in a.items.items():
                                self._walk_parameters(item, f"{prefix}{name}.{k}.", seen, result)
                if opt.seq_items:
                    for i, item in enumerate(opt.seq_items):
                        self._walk_parameters(item, f"{prefix}{i}.", seen, result)
                if any(b not in ("torch.nn.Module", "torch.nn.Sequential",
                                 "torch.nn.ModuleList")
                       for b in opt.cls.external_bases()):
                    result.append(TupleV((UNKNOWN, UNKNOWN)))
            elif opt is UNKNOWN:
                result.append(TupleV((UNKNOWN, UNKNOWN)))


    def is_sole_receiver(self, receiver: ModuleObj, node: cst.Call) -> bool:
        """Is ``node`` ``<name>.apply(...)`` whose ``<name>`` is ``receiver`` and nothing
        else where it runs (so ``<name>`` names it right after that statement too)?"""
        func = node.func
        if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)):
            return False
        found = options(self.evaluate_quiet(func.value))
        return len(found) == 1 and found[0] is receiver

    def module_method(self, receiver: ModuleObj, name: str, args: list[Value],
                      kwargs: dict[str, Value], node: cst.Call) -> Value:
        if name == "apply" and args:
            run = ApplyRun(node, resolved=self.is_sole_receiver(receiver, node))
            self.graph.apply_runs.setdefault(id(node), []).append(run)
            self.dispatch += 1
            self.applying.append((run, receiver))
            try:
                for module in self.modules_of(receiver):
                    self.call(args[0], [module], {}, node)
            finally:
                self.applying.pop()
                self.dispatch -= 1
            return receiver
        if name == "modules":
            return ListObj(self.modules_of(receiver))
        if name == "named_modules":
            return ListObj(self.named_modules_of(receiver))
        if name == "children":
            return ListObj(self.children_of(receiver))
        if name == "named_children":
            return ListObj([TupleV(pair) for pair in self.named_children_of(receiver)])
        if name == "parameters":
            return ListObj([t.items[1] for t in self.named_parameters_of(receiver)
                            if isinstance(t, TupleV)])
        if name == "named_parameters":
            return ListObj(self.named_parameters_of(receiver))
        if name in ("add_module", "register_module") and len(args) == 2 and isinstance(
                args[0], Const):
            if isinstance(receiver, Instance):
                self.set_attribute(receiver, str(args[0].value), args[1])
                receiver.dynamic_attrs.add(str(args[0].value))
            elif isinstance(receiver, SeqMod):
                receiver.tail = 0
                receiver.items.append(args[1])
                receiver.names.append(str(args[0].value))
            return NONE
        if name == "register_parameter" and len(args) == 2 and isinstance(args[0], Const):
            self.set_attribute(receiver, str(args[0].value), args[1])
            return NONE
        if name == "append" and isinstance(receiver, SeqMod) and args:
            receiver.items.append(self.maybe(args[0]))
            receiver.tail = 0 if self.loop_depth else receiver.tail + 1
            receiver.names.append(str(len(receiver.names)))
            return receiver
        if name in _RETURNS_SELF:
            return receiver
        if name == "forward":
            return self.call_module(receiver, args, kwargs)
        if name == "reset_parameters":
            return NONE
        return self.unknown_call(args)

