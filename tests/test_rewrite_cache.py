"""Rewritten graphs kept on disk: a later compile of the same graph, here or in another process, takes the stored
graph (the same graph a fresh rewrite gives, the same values, in-place ops still after their readers); any change
to the graph, its constants, its ops' properties, its input types or the mode misses."""

import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.builders import OpFromGraph
from pytensor.compile.maker import FunctionMaker
from pytensor.graph.basic import equal_computations
from pytensor.link.numba.dispatch.basic import numba_funcify_and_cache_key

from mmmlab import rewrite_cache
from mmmlab.rewrite_cache import rewrites_kept

X = np.arange(6.0).reshape(2, 3) / 10


@pytest.fixture
def rewrites(monkeypatch):
    """Every rewrite is kept (the tests' graphs rewrite in milliseconds); counts the rewrites that ran."""
    monkeypatch.setattr(rewrite_cache, "WORTH_KEEPING_S", 0.0)
    ran = []
    prepare = FunctionMaker.__dict__["prepare_fgraph"]

    def counted(*args):
        ran.append(args[3])
        return prepare.__func__(*args)

    monkeypatch.setattr(FunctionMaker, "prepare_fgraph", staticmethod(counted))
    return ran


def _compiled(scale=2.0, axis=0, x=None, mode="NUMBA"):
    """exp(x) read by a product and then overwritten in place by ``set_subtensor``: the overwrite must run last."""
    x = pt.matrix("x") if x is None else x
    y = pt.exp(x)
    outputs = [pt.sum(pt.dot(y, y.T) * scale, axis=axis), pt.set_subtensor(y[0], 0.0)]
    return pytensor.function([x], outputs, mode=mode)


def _expected(scale=2.0, axis=0):
    y = np.exp(X)
    overwritten = y.copy()
    overwritten[0] = 0.0
    return [np.sum(y @ y.T * scale, axis=axis), overwritten]


def _assert_values(f, scale=2.0, axis=0):
    for got, want in zip(f(X), _expected(scale, axis), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_the_next_compile_of_the_same_graph_takes_the_stored_rewrite_with_the_same_graph_and_values(rewrites, tmp_path):
    fresh = _compiled()
    with rewrites_kept(tmp_path) as folder:
        first = _compiled()
        assert len(rewrites) == 2 and len(list(folder.glob("*.pkl"))) == 1  # the fresh compile's and this one's
        second = _compiled()  # new variables, new ops: the same graph
    assert len(rewrites) == 2  # the second compile rewrote nothing
    a, b = fresh.maker.fgraph, second.maker.fgraph
    assert equal_computations(a.outputs, b.outputs, a.inputs, b.inputs)
    assert numba_funcify_and_cache_key(a)[1] == numba_funcify_and_cache_key(b)[1]  # the same order: Numba's cached code
    assert not equal_computations(a.outputs, b.outputs[::-1], a.inputs, b.inputs)  # the comparison can fail
    for f in (first, second):
        _assert_values(f)


def test_an_in_place_op_of_a_stored_graph_still_runs_after_the_nodes_that_read_its_input(rewrites, tmp_path):
    with rewrites_kept(tmp_path):
        _compiled()
        loaded = _compiled()
    order = [str(node.op).split("{")[0] for node in loaded.maker.fgraph.toposort()]
    assert order.index("Dot") < order.index("SetSubtensor")
    assert any(node.op.destroy_map for node in loaded.maker.fgraph.apply_nodes)
    _assert_values(loaded)


def test_a_loaded_graph_runs_its_nodes_in_the_stored_order(rewrites, tmp_path):
    with rewrites_kept(tmp_path) as folder:
        _compiled()
        (path,) = folder.glob("*.pkl")
        inputs, outputs, order, in_place = pickle.loads(path.read_bytes())
        i = [str(node.op).split("{")[0] for node in order].index("SetSubtensor")
        assert i < len(order) - 1  # the fresh order overwrites before the sum; last is as valid (nothing reads it)
        order = [*order[:i], *order[i + 1:], order[i]]
        path.write_bytes(pickle.dumps((inputs, outputs, order, in_place)))
        loaded = _compiled()
    assert [str(node.op) for node in loaded.maker.fgraph.toposort()] == [str(node.op) for node in order]
    _assert_values(loaded)


@pytest.mark.parametrize("change", [
    {"scale": 3.0},  # a constant
    {"axis": 1},  # an op's property
    {"x": pt.tensor("x", shape=(2, 3))},  # an input's type
    {"mode": "FAST_COMPILE"},  # the mode's rewrites
])
def test_a_changed_graph_or_mode_misses_and_computes_its_own_values(rewrites, tmp_path, change):
    with rewrites_kept(tmp_path) as folder:
        _compiled()
        changed = _compiled(**change)
    assert len(rewrites) == 2 and len(list(folder.glob("*.pkl"))) == 2
    _assert_values(changed, change.get("scale", 2.0), change.get("axis", 0))


def test_a_truncated_file_is_a_miss_and_is_written_again(rewrites, tmp_path):
    with rewrites_kept(tmp_path) as folder:
        _compiled()
        (path,) = folder.glob("*.pkl")
        path.write_bytes(path.read_bytes()[:100])
        _assert_values(_compiled())
        assert len(rewrites) == 2
        _assert_values(_compiled())
    assert len(rewrites) == 2


def test_a_folder_that_cannot_be_written_keeps_nothing_and_the_compile_goes_on(rewrites, tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    with rewrites_kept(blocked):
        _assert_values(_compiled())
        _assert_values(_compiled())
    assert len(rewrites) == 2 and blocked.read_text() == ""


def test_shared_inputs_are_stored_without_their_values_and_a_loaded_graph_reads_its_own(rewrites, tmp_path):
    def compiled(value):
        data = pytensor.shared(value, name="data")
        x = pt.vector("x")
        return pytensor.function([x], pt.exp(x) * data, mode="NUMBA")

    first, second = np.full(3, 12345.678), np.array([1.0, 2.0, 3.0])
    with rewrites_kept(tmp_path) as folder:
        compiled(first)
        (path,) = folder.glob("*.pkl")
        assert first.tobytes() not in path.read_bytes()
        f = compiled(second)
    assert len(rewrites) == 1
    np.testing.assert_allclose(f(np.zeros(3)), second)


def test_an_op_from_graph_is_told_by_its_inner_graph_not_its_gradient_override(rewrites, tmp_path):
    def compiled(factor):
        inner = pt.vector("inner")
        op = OpFromGraph([inner], [inner * factor], inline=True,  # inlined: the rewritten graph pickles
                         pullback=lambda inputs, outputs, grads: [grads[0] * factor])  # a closure, which does not
        x = pt.vector("x")
        return pytensor.function([x], op(x).sum(), mode="NUMBA")

    with rewrites_kept(tmp_path) as folder:
        compiled(2.0)
        again = compiled(2.0)
        other = compiled(3.0)
    assert len(rewrites) == 2 and len(list(folder.glob("*.pkl"))) == 2
    assert again(np.ones(3)) == pytest.approx(6.0) and other(np.ones(3)) == pytest.approx(9.0)


def test_blocks_nest_in_the_outer_folder_and_restore_pytensor_after(rewrites, tmp_path):
    counted = FunctionMaker.__dict__["prepare_fgraph"]
    with rewrites_kept(tmp_path / "outer") as outer:
        with rewrites_kept(tmp_path / "inner") as inner:
            _compiled()
        assert inner == outer
    assert FunctionMaker.__dict__["prepare_fgraph"] is counted
    assert len(list(outer.glob("*.pkl"))) == 1 and not (tmp_path / "inner").exists()


def test_another_process_takes_the_stored_graph(rewrites, tmp_path):
    with rewrites_kept(tmp_path):
        _compiled()
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from pytensor.compile.maker import FunctionMaker
        ran = []
        prepare = FunctionMaker.__dict__["prepare_fgraph"]
        FunctionMaker.prepare_fgraph = staticmethod(lambda *a: ran.append(1) or prepare.__func__(*a))
        import test_rewrite_cache as t
        from mmmlab.rewrite_cache import rewrites_kept
        with rewrites_kept({str(tmp_path)!r}):
            f = t._compiled()
        t._assert_values(f)
        print(len(ran))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "0"
