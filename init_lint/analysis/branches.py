"""Unknown conditions: both branches run, each on its own copies of the lists and
dicts it builds, with ``isinstance``/``is None`` narrowing; their results join."""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from init_lint.analysis.base import (
    Frame,
    InterpreterBase,
)
from init_lint.analysis.values import (
    NONE,
    UNKNOWN,
    Const,
    DictObj,
    Instance,
    ListObj,
    Value,
    choice,
    options,
)


class BranchMixin(InterpreterBase):
    def exec_if(self, node: cst.If, frame: Frame) -> None:
        test = self.truth(self.evaluate(node.test, frame))
        orelse = node.orelse
        if test is True:
            self.exec_block(node.body, frame)
            return
        if test is False:
            if type(orelse) is cst.If:
                self.exec_if(orelse, frame)
            elif type(orelse) is cst.Else:
                self.exec_block(orelse.body, frame)
            return
        narrow_true, narrow_false = self.narrowing(node.test, frame)
        before = dict(frame.local)
        attrs_before = self.snapshot_attrs(frame)
        returns_before = len(frame.returns)
        self.fork_containers(frame)
        frame.local.update(narrow_true)
        self.exec_block(node.body, frame)
        after_true = dict(frame.local)
        attrs_true = self.snapshot_attrs(frame)
        true_returned = len(frame.returns) > returns_before
        frame.local.clear()
        frame.local.update(before)
        self.restore_attrs(frame, attrs_before)
        self.fork_containers(frame)
        frame.local.update(narrow_false)
        if type(orelse) is cst.If:
            self.exec_if(orelse, frame)
        elif type(orelse) is cst.Else:
            self.exec_block(orelse.body, frame)
        if true_returned and not isinstance(orelse, (cst.If, cst.Else)):
            # `if c: return a` then code: the fall-through continues with the false state.
            self.unfork(frame.local)
            if isinstance(frame.receiver, Instance):
                self.unfork(frame.receiver.attrs)
            return
        self.join_into(frame.local, after_true)
        attrs_false = self.snapshot_attrs(frame)
        self.join_attrs(frame, attrs_true, attrs_false)

    def narrowing(self, test: cst.BaseExpression,
                  frame: Frame) -> tuple[dict[str, Value], dict[str, Value]]:
        """What an unknown test still tells each branch: ``isinstance(m, T)`` keeps the
        options of ``m`` that can be a T in the true branch and the others in the false
        one; likewise ``m is None``. Returns (true bindings, false bindings)."""
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            on_true, on_false = self.narrowing(test.expression, frame)
            return on_false, on_true
        if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
            left_true, _ = self.narrowing(test.left, frame)
            right_true, _ = self.narrowing(test.right, frame)
            return {**left_true, **right_true}, {}
        name: str | None = None
        predicate: Callable[[Value], bool | None] | None = None
        if isinstance(test, cst.Call) and isinstance(test.func, cst.Name) and (
                test.func.value == "isinstance") and len(test.args) == 2 and isinstance(
                test.args[0].value, cst.Name):
            name = test.args[0].value.value
            types = self.evaluate(test.args[1].value, frame)
            predicate = lambda option: self.isinstance_of(option, types)  # noqa: E731
        elif isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name) and len(
                test.comparisons) == 1 and isinstance(test.comparisons[0].operator,
                                                      (cst.Is, cst.IsNot)):
            comparator = self.evaluate(test.comparisons[0].comparator, frame)
            if comparator == Const(None):
                name = test.left.value
                negate = isinstance(test.comparisons[0].operator, cst.IsNot)

                def predicate(option: Value) -> bool | None:
                    outcome = self.compare_one(cst.Is(), option, NONE)
                    return None if outcome is None else (outcome != negate)
        if name is None or predicate is None or name not in frame.local:
            return {}, {}
        value = frame.local[name]
        opts = options(value)
        if len(opts) < 2:
            return {}, {}
        verdicts = [(o, predicate(o)) for o in opts]
        kept_true = [o for o, v in verdicts if v is not False]
        kept_false = [o for o, v in verdicts if v is not True]
        return ({name: choice(kept_true)} if kept_true else {},
                {name: choice(kept_false)} if kept_false else {})

    def fork_containers(self, frame: Frame) -> None:
        """Each branch of an unknown ``if`` mutates its own copies of the lists and dicts
        the frame holds; the join then knows what each branch built."""
        clones: dict[int, Value] = {}

        def fork(value: Value) -> Value:
            if id(value) in clones:
                return clones[id(value)]
            clone: Value = value
            if isinstance(value, ListObj):
                clone = ListObj(list(value.items), value.module_list, value, value.stable,
                                value.tail)
            elif isinstance(value, DictObj):
                clone = DictObj(dict(value.items), value.module_dict, value,
                                set(value.literal_keys))
            clones[id(value)] = clone
            return clone

        # Only lists and dicts are copied (most values are neither: skip them unseen)
        local = frame.local
        for name, value in list(local.items()):
            if isinstance(value, (ListObj, DictObj)):
                local[name] = fork(value)
        if isinstance(frame.receiver, Instance):
            attrs = frame.receiver.attrs
            for name, value in list(attrs.items()):
                if isinstance(value, (ListObj, DictObj)):
                    attrs[name] = fork(value)

    def unfork(self, names: dict[str, Value]) -> None:
        """Write a single branch's copies back into the originals."""
        for name, value in list(names.items()):
            names[name] = self.merge_fork(value, value)

    def merge_fork(self, a: Value, b: Value) -> Value:
        """Join two branch values; copies of one container with equal contents become the
        original again (with those contents), different ones a Choice."""
        if a is b and not isinstance(a, (ListObj, DictObj)):
            return a
        if isinstance(a, ListObj) and isinstance(b, ListObj) and a.forked_from is not None \
                and a.forked_from is b.forked_from:
            if len(a.items) == len(b.items) and all(
                    x is y for x, y in zip(a.items, b.items, strict=True)):
                a.forked_from.items[:] = a.items
                a.forked_from.stable = min(a.stable, b.stable)
                a.forked_from.tail = min(a.tail, b.tail)
                return a.forked_from
        elif isinstance(a, DictObj) and isinstance(b, DictObj) and a.forked_from is not None \
                and a.forked_from is b.forked_from:
            if list(a.items) == list(b.items) and all(a.items[k] is b.items[k] for k in a.items):
                a.forked_from.items.clear()
                a.forked_from.items.update(a.items)
                a.forked_from.literal_keys = a.literal_keys & b.literal_keys
                return a.forked_from
        if a is b:
            return a
        return choice([a, b])

    def snapshot_attrs(self, frame: Frame) -> dict[str, Value] | None:
        receiver = frame.receiver
        if isinstance(receiver, Instance):
            return dict(receiver.attrs)
        return None

    def restore_attrs(self, frame: Frame, saved: dict[str, Value] | None) -> None:
        if saved is not None and isinstance(frame.receiver, Instance):
            frame.receiver.attrs.clear()
            frame.receiver.attrs.update(saved)

    def join_attrs(self, frame: Frame, first: dict[str, Value] | None,
                   second: dict[str, Value] | None) -> None:
        if first is None or second is None or not isinstance(frame.receiver, Instance):
            return
        merged: dict[str, Value] = {}
        for key in list(first) + [k for k in second if k not in first]:
            a, b = first.get(key), second.get(key)
            if a is None or b is None:
                merged[key] = choice([a or NONE, b or NONE])
            else:
                merged[key] = self.merge_fork(a, b)
        frame.receiver.attrs.clear()
        frame.receiver.attrs.update(merged)

    def join_into(self, target: dict[str, Value], other: dict[str, Value]) -> None:
        for key in list(other) + [k for k in target if k not in other]:
            a, b = other.get(key), target.get(key)
            if a is None or b is None:
                target[key] = choice([a or UNKNOWN, b or UNKNOWN])
            else:
                target[key] = self.merge_fork(a, b)

