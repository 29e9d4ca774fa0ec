"""The compiled engine calls the Q.931 call tables' actions and guards by number
(``Actions.dispatch`` / ``check`` of :class:`PriCall`): every row is numbered, each number
runs the method the table names, and the binding refuses what it cannot number."""
from __future__ import annotations

import inspect
import re

import pytest

from _boardcore import _select
from cti.signaling import machine_py
from cti.signaling.engine import Row, Table
from cti.signaling.pri import call_py, q931_py
from cti.signaling.pri.pair import Pair
from cti.signaling.pri.q931 import NETWORK_TABLE, USER_TABLE, PriCall


def _names(table: Table) -> set[str]:
    out = set()
    for r in table.rows:
        for fn in (r.action, r.guard):
            if fn is not None:
                out.add(fn.__name__)
    return out


def test_every_action_and_guard_of_the_tables_has_a_number() -> None:
    names = set(PriCall.ACTIONS)
    assert len(names) == len(PriCall.ACTIONS), "a name listed twice"
    for table in (USER_TABLE, NETWORK_TABLE):
        missing = _names(table) - names
        assert not missing, f"{table.name}: rows whose callable has no number: {sorted(missing)}"


def _branches(fn: object) -> list[tuple[int, str]]:
    src = inspect.getsource(fn)   # type: ignore[arg-type]
    return [(int(i), name) for i, name in re.findall(r"index == (\d+):\s*\n\s*(?:return 1 if )?self\.(\w+)\(", src)]


def test_each_number_runs_the_method_of_that_name() -> None:
    """dispatch() / check() are one source for both builds: branch ``index == i`` calls
    ``ACTIONS[i]``, every action once, every guard once."""
    acts = _branches(call_py.PriCall.dispatch)
    guards = _branches(call_py.PriCall.check)
    assert acts and guards
    for i, name in acts + guards:
        assert call_py.PriCall.ACTIONS[i] == name, f"branch {i} calls {name}, ACTIONS[{i}] is {call_py.PriCall.ACTIONS[i]}"
    assert sorted(i for i, _ in acts + guards) == list(range(len(call_py.PriCall.ACTIONS)))
    guard_names = {r.guard.__name__ for t in (q931_py.USER_TABLE, q931_py.NETWORK_TABLE) for r in t.rows if r.guard}
    assert {n for _, n in guards} == guard_names


def test_the_twin_numbers_run_the_methods() -> None:
    """The twin's dispatch (the engine of the twin never calls it) runs the method named."""
    pr = Pair(user=None, network=None)
    pr.run(0.2)
    call = pr.user.q931.setup("123", pr.now, "456", channel=1)
    pr.step()
    if not isinstance(call, call_py.PriCall):
        pytest.skip("the compiled PriCall's dispatch is a C method (the source test above covers it)")
    ix = call_py.PriCall.ACTIONS.index("send_status_enquiry")
    before = call.enquiries
    call.dispatch(ix, None, pr.now)
    assert call.enquiries == before + 1
    assert call.check(call_py.PriCall.ACTIONS.index("setup_left"), None) == 1
    with pytest.raises(IndexError):
        call.dispatch(len(call_py.PriCall.ACTIONS) + 5, None, pr.now)


def test_the_compiled_tables_are_bound() -> None:
    if _select.NO_EXTENSIONS:
        pytest.skip("BOARDCORE_NO_EXTENSIONS=1: the compiled layer 3 is not loaded (the twins run)")
    machine_c = pytest.importorskip("cti.signaling.machine_c")
    q931_c = pytest.importorskip("cti.signaling.pri.q931_c")
    call_c = pytest.importorskip("cti.signaling.pri.call_c")
    for table in (q931_c.USER_TABLE, q931_c.NETWORK_TABLE):
        k = machine_c.compiled(table)
        assert k.dtype is call_c.PriCall
        seen = 0
        for c in k.cells:
            while c is not None:
                if c.action is not None:
                    assert call_c.PriCall.ACTIONS[c.aix] == c.action.__name__
                    seen += 1
                if c.guard is not None:
                    assert call_c.PriCall.ACTIONS[c.gix] == c.guard.__name__
                c = c.alt
        assert seen > 100


class _Ctx(machine_py.Actions):
    ACTIONS = ("go",)

    def go(self, m: object, now: float) -> None:
        pass


def _toy() -> Table:
    return Table("toy", "A", (Row("A", "E", "B", _Ctx.go),))


@pytest.mark.parametrize("mod", ["machine_py", "machine_c"])
def test_bind_actions_refuses_what_it_cannot_number(mod: str) -> None:
    m = machine_py if mod == "machine_py" else pytest.importorskip("cti.signaling.machine_c")
    with pytest.raises(TypeError, match="not an Actions class"):
        m.bind_actions(_toy(), object)

    class Bad(m.Actions):  # type: ignore[name-defined,misc]
        ACTIONS = ("nothing_here",)
    with pytest.raises(TypeError, match="not a method"):
        m.bind_actions(_toy(), Bad)


def test_a_context_not_of_the_bound_class_keeps_the_python_call() -> None:
    """Numbers are used only for a context of exactly the bound class: another context of the
    same table (a plain object) has its callable called."""
    machine_c = pytest.importorskip("cti.signaling.machine_c")
    seen: list[object] = []

    class Plain:
        pass

    def _act(ctx: object, m: object, now: float) -> None:
        seen.append(ctx)

    class Ctx(machine_c.Actions):  # type: ignore[name-defined,misc]  # a Python subclass of the C base
        ACTIONS = ("act",)
        act = staticmethod(_act)

    t = Table("toy2", "A", (Row("A", "E", "B", _act),))
    machine_c.bind_actions(t, Ctx)
    p = Plain()
    m = machine_c.MachineCore(t, p)
    m.fire("E", None, 0.0)
    assert seen == [p] and m.state == "B"


@pytest.mark.parametrize("mod", ["machine_py", "machine_c"])
def test_the_base_runs_a_numbered_action_and_guard_by_name(mod: str) -> None:
    """A context class that lists ACTIONS and writes no switch of its own: the base's
    dispatch / check run the method of that number by name (in the compiled build the engine
    calls them in C for a context of the bound class)."""
    m = machine_py if mod == "machine_py" else pytest.importorskip("cti.signaling.machine_c")
    seen: list[tuple[str, object]] = []

    class Ctx(m.Actions):  # type: ignore[name-defined,misc]
        ACTIONS = ("ready", "go")

        def ready(self, msg: object) -> bool:
            return msg == "ok"

        def go(self, msg: object, now: float) -> None:
            seen.append(("go", msg))

    t = Table("toy3", "A", (Row("A", "E", "B", Ctx.go, Ctx.ready), Row("A", "E", "C")))
    m.bind_actions(t, Ctx)
    ctx = Ctx()
    if mod == "machine_py":
        assert ctx.check(0, "ok") == 1 and ctx.check(0, "no") == 0
        assert ctx.dispatch(1, "x", 0.0) == 0 and seen == [("go", "x")]
        with pytest.raises(IndexError):
            ctx.dispatch(2, None, 0.0)
        return
    a = m.MachineCore(t, ctx)
    a.fire("E", "ok", 0.0)
    assert seen == [("go", "ok")] and a.state == "B"
    b = m.MachineCore(t, Ctx())
    b.fire("E", "no", 0.0)
    assert b.state == "C" and seen == [("go", "ok")]
