"""PyTensor's graph rewrites kept on disk: a graph compiled again in another process skips them.

Every ``pytensor.function`` rewrites its graph (canonicalise, specialise, fuse, work in place) before
linking it, in every process again: each stage, each calibration worker, each test. For a fit that is
a tenth to a fifth of the stage (the log-density and gradient, the deterministics, the predictive
draws, the initial point). Inside :func:`rewrites_kept` a rewrite that took at least :data:`WORTH_KEEPING_S`
is stored under :func:`graph_key`; a later compile of the same graph, in any process, takes the
stored graph instead, after checking that it computes from this graph's inputs the outputs of this
graph's types, and attaches PyTensor's in-place bookkeeping to it as the rewrite would have.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

THIS_MODULE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()  # in every key: an edit here misses
WORTH_KEEPING_S = 0.1  # a rewrite this long or longer is stored; shorter ones cost less than a file
KEPT_DAYS = 30  # a stored graph unused this long is removed
FOLDER_ENV = "MMMLAB_REWRITES_DIR"  # where the graphs are kept; default <pytensor's base_compiledir>/mmmlab-rewrites
# settings left out of the key: where PyTensor writes its files; the C compiler's flags, which PyTensor extends when
# it first compiles C (so one process would key a graph two ways); how the C linker links BLAS, whose reading runs a
# 0.7 s search that warns when it finds none
NOT_REWRITING = {"base_compiledir", "compiledir", "compiledir_format", "generated_src_dir", "gcc__cxxflags",
                 "blas__ldflags"}
DEEP_GRAPHS = 100_000  # recursion limit while pickling a rewritten graph: each node is a few frames deep


def default_folder() -> Path:
    """``$MMMLAB_REWRITES_DIR``, else ``mmmlab-rewrites`` under PyTensor's ``base_compiledir``."""
    import pytensor

    return Path(os.environ.get(FOLDER_ENV) or Path(pytensor.config.base_compiledir) / "mmmlab-rewrites")


@contextmanager
def rewrites_kept(folder: Path | None = None) -> Iterator[Path]:
    """Inside the block PyTensor's compiles take stored rewritten graphs, and store the ones they rewrite.

    Nested blocks keep the outer block's folder. ``FunctionMaker.prepare_fgraph`` is restored after the block.

    Parameters
    ----------
    folder : pathlib.Path, optional
        Where the graphs are kept (:func:`default_folder` if not given).

    Yields
    ------
    pathlib.Path
        The folder.
    """
    from pytensor.compile.maker import FunctionMaker

    prepare = FunctionMaker.__dict__["prepare_fgraph"]
    outer = getattr(prepare.__func__, "folder", None)
    if outer is not None:
        yield outer
        return
    folder = Path(folder) if folder is not None else default_folder()
    setup = setup_key()

    def kept(inputs, outputs, additional_outputs, fgraph, mode, profile):
        key = graph_key(fgraph, inputs, outputs, mode, setup)
        path = None if key is None else folder / f"{key}.pkl"
        if path is not None and _loaded(path, fgraph):
            return
        t = time.perf_counter()
        prepare.__func__(inputs, outputs, additional_outputs, fgraph, mode, profile)
        if path is not None and time.perf_counter() - t >= WORTH_KEEPING_S:
            _store(path, fgraph)

    kept.folder = folder
    FunctionMaker.prepare_fgraph = staticmethod(kept)
    try:
        yield folder
    finally:
        FunctionMaker.prepare_fgraph = prepare


def setup_key() -> str:
    """A digest of what a rewrite depends on besides the graph and the mode, taken once per block:
    PyTensor's version and settings, Python's version, this module's source.

    The rewrites registered with PyTensor are not in it: importing a backend registers more, so
    the same process would key the same graph differently before and after its first compile. A
    stored graph is PyTensor's rewrite of the same graph under the same mode and settings; each
    rewrite keeps what the graph computes.
    """
    import pytensor

    settings = sorted((cv.name, str(cv.__get__(pytensor.config, type(pytensor.config))))
                      for cv in pytensor.config._config_var_dict.values() if cv.name not in NOT_REWRITING)
    return _sha256(repr((pytensor.__version__, sys.version_info[:2], THIS_MODULE, settings)))


def graph_key(fgraph, inputs, outputs, mode, setup: str) -> str | None:
    """A digest of everything PyTensor's rewrite of ``fgraph`` depends on; None when it cannot be told.

    The graph (:class:`_GraphDigest`); the inputs' and outputs' flags (mutable, borrowed, updated);
    the mode's linker and rewrite query; ``setup``.

    Parameters
    ----------
    fgraph : pytensor.graph.fg.FunctionGraph
        The graph before rewriting.
    inputs, outputs : list
        ``FunctionMaker``'s ``SymbolicInput`` and ``SymbolicOutput`` wrappers.
    mode : pytensor.compile.mode.Mode
    setup : str
        :func:`setup_key`.

    Returns
    -------
    str or None
        Hex sha256; None for a mode with rewrites outside the database, or an op that does not pickle.
    """
    query = _query_key(mode)
    if query is None:
        return None
    flags = ([(i.mutable, i.borrow, i.update is not None) for i in inputs], [o.borrow for o in outputs])
    try:
        graph = _GraphDigest().graph(fgraph.inputs, fgraph.outputs, fgraph.toposort())
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
        return None
    return _sha256(repr((setup, query, flags, graph)))


class _GraphDigest:
    """Digests of a graph's parts that equal parts share, whichever objects they are in this process.

    A graph is its nodes in topological order, each by its op and where its inputs come from (a
    graph input by position, type and name; a node's output by node and index; a constant by type
    and value), and its outputs' places. An op is its pickled state, in which a type, a nested op or
    an inner graph (an ``OpFromGraph``'s, whose gradient overrides change gradients, not what it
    computes) stands as its digest. Plain pickling would not do: its bytes depend on which equal
    objects are one object, and it carries automatic names and stack traces.
    """

    def __init__(self):
        self._digests: dict[int, str] = {}  # by id of the op or type
        self._kept: list = []  # the ops and types digested, alive while their ids key _digests

    def graph(self, inputs, outputs, toposort) -> str:
        from pytensor.graph.basic import Constant
        from pytensor.link.numba.dispatch.basic import cache_key_for_constant

        places = {v: ("input", i, self.type(v.type), v.name) for i, v in enumerate(inputs)}

        def place(v):
            if v in places:
                return places[v]
            if isinstance(v, Constant):
                return "constant", self.type(v.type), cache_key_for_constant(v.data)
            raise TypeError(f"{v} is neither an input, a constant nor a node's output")

        nodes = []
        for n, node in enumerate(toposort):
            nodes.append((self.op(node.op), [place(v) for v in node.inputs],
                          [(self.type(v.type), v.name) for v in node.outputs]))
            places.update({v: ("node", n, j) for j, v in enumerate(node.outputs)})
        return _sha256(repr((nodes, [place(v) for v in outputs])))

    def op(self, op) -> str:
        return self._memo(op, self._op)

    def type(self, type_) -> str:
        return self._memo(type_, lambda t: hashlib.sha256(pickle.dumps(t, protocol=5)).hexdigest())

    def _op(self, op) -> str:
        from pytensor.compile.builders import OpFromGraph

        if isinstance(op, OpFromGraph):
            inner = op.fgraph
            return _sha256(repr(("op_from_graph", _qualified(type(op)),
                                 self.graph(inner.inputs, inner.outputs, inner.toposort()),
                                 op.is_inline, sorted(op.destroy_map.items()), op.name)))
        digest = hashlib.sha256()
        _StatePickler(_Digest(digest), self).dump(op)
        return digest.hexdigest()

    def _memo(self, obj, digest) -> str:
        if id(obj) not in self._digests:
            self._digests[id(obj)] = digest(obj)
            self._kept.append(obj)
        return self._digests[id(obj)]


class _StatePickler(pickle.Pickler):
    """Pickles an op's state with each type, nested op and inner graph as its :class:`_GraphDigest` digest."""

    def __init__(self, file, digests: _GraphDigest):
        super().__init__(file, protocol=5)
        self.digests = digests
        self.top = True

    def reducer_override(self, obj):
        from pytensor.graph.basic import Variable
        from pytensor.graph.fg import AbstractFunctionGraph
        from pytensor.graph.op import Op
        from pytensor.graph.type import Type

        if self.top:  # the op itself: its own state
            self.top = False
            return NotImplemented
        if isinstance(obj, Type):
            return _as, ("type", self.digests.type(obj))
        if isinstance(obj, Op):
            return _as, ("op", self.digests.op(obj))
        if isinstance(obj, AbstractFunctionGraph):
            return _as, ("graph", self.digests.graph(obj.inputs, obj.outputs, obj.toposort()))
        if isinstance(obj, Variable):
            raise TypeError(f"a variable outside an inner graph in an op's state: {obj}")
        return NotImplemented


class _Digest(io.RawIOBase):
    """A file that feeds what is written to it into a hash."""

    def __init__(self, digest):
        self.digest = digest

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.digest.update(b)
        return len(b)


def _as(*parts):
    """Stands for a part in an op's pickled state (never called: digests are not unpickled)."""
    raise RuntimeError("a digest is not meant to be unpickled")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _qualified(cls) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class _StorePickler(pickle.Pickler):
    """Pickles a rewritten graph with each shared input as a bare variable of its type: the user's data stay
    out of the file (loading puts this compile's inputs in their place)."""

    def reducer_override(self, obj):
        from pytensor.compile.sharedvalue import SharedVariable

        if isinstance(obj, SharedVariable):
            return _variable_of, (obj.type, obj.name)
        return NotImplemented


def _variable_of(type_, name: str | None):
    return type_(name=name)


def _query_key(mode) -> tuple | None:
    """The mode's linker and rewrite query, or None when it rewrites with anything but PyTensor's database."""
    from pytensor.compile.mode import optdb
    from pytensor.graph.rewriting.db import RewriteDatabaseQuery

    query = getattr(mode, "_optimizer", None)
    if (not isinstance(query, RewriteDatabaseQuery) or query.subquery or query.extra_rewrites
            or mode.optdb is not optdb):
        return None
    return (type(mode).__qualname__, type(mode.linker).__qualname__, repr(mode.linker), tuple(query.include),
            tuple(query.require), tuple(query.exclude), query.position_cutoff)


def _loaded(path: Path, fgraph) -> bool:
    """Make ``fgraph`` the stored rewritten graph at ``path``; False (``fgraph`` untouched) when there is none.

    A file that does not unpickle, or whose graph has other inputs or outputs than ``fgraph``'s, is
    ignored (the rewrite runs and stores its result in its place). The loaded graph runs its nodes in
    the stored order (:class:`_StoredOrder`).
    """
    from pytensor.graph.destroyhandler import DestroyHandler

    try:
        with _deep_recursion():
            inputs, outputs, order, in_place = pickle.loads(path.read_bytes())
    except Exception:  # noqa: BLE001 - no file, or a truncated or stale one: a miss (the rewrite stores anew)
        return False
    if ([i.type for i in inputs] != [i.type for i in fgraph.inputs] or len(outputs) != len(fgraph.outputs)
            or not all(o.type.is_super(n.type) for o, n in zip(fgraph.outputs, outputs, strict=True))):
        return False
    ours = dict(zip(inputs, fgraph.inputs, strict=True))  # the unpickled graph is this call's own: rewired in place
    for node in order:
        node.inputs = [ours.get(v, v) for v in node.inputs]
    for i, new in enumerate(outputs):
        node, j = fgraph.get_output_client(i)
        fgraph.change_node_input(node, j, ours.get(new, new), reason="rewrite_cache")
    if in_place and not hasattr(fgraph, "destroy_handler"):
        fgraph.attach_feature(DestroyHandler())  # as the rewrite's AddDestroyHandler: in-place ops run last
    fgraph.attach_feature(_StoredOrder(order))
    with contextlib.suppress(OSError):
        os.utime(path)  # in use: kept from pruning
    return True


class _StoredOrder:
    """A graph feature: the loaded graph's nodes run in the order of the rewrite that stored them.

    PyTensor orders a graph's nodes by its structure and by the in-place bookkeeping's constraints, whose
    order follows the rewrite's history; a loaded graph has another history, so it would come out in
    another (equally valid) order. Numba's cache keys a compiled graph by its order: in the stored one,
    the loaded graph finds the code compiled for the fresh rewrite, and runs its nodes as it did.
    """

    _feature_callbacks = frozenset()  # PyTensor's feature protocol (no pytensor import here): none, only orderings

    def __init__(self, order: list):
        self.order = order

    def orderings(self, fgraph) -> dict:
        present = [node for node in self.order if node in fgraph.apply_nodes]
        return {later: [earlier] for earlier, later in zip(present, present[1:])}


def _store(path: Path, fgraph) -> None:
    """Write ``fgraph``'s inputs, outputs, node order and whether it has in-place bookkeeping to ``path`` whole
    (a reader never sees a partial file), then remove stored graphs unused for :data:`KEPT_DAYS`."""
    blob = io.BytesIO()
    try:
        with _deep_recursion():
            _StorePickler(blob, protocol=5).dump((fgraph.inputs, fgraph.outputs, fgraph.toposort(),
                                                  hasattr(fgraph, "destroy_handler")))
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
        return  # an op that does not pickle: this graph is rewritten every time
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as f:
            try:
                f.write(blob.getbuffer())
                f.flush()
                os.replace(f.name, path)
            except BaseException:  # an interrupt or a full disk: no partial file left behind
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f.name)
                raise
    except OSError:
        return  # a folder that cannot be written: the graph is not kept, the compile goes on
    cutoff = time.time() - KEPT_DAYS * 86400
    for old in path.parent.glob("*.pkl"):
        with contextlib.suppress(FileNotFoundError):  # another process removed it first
            if old.stat().st_mtime < cutoff:
                old.unlink()


@contextmanager
def _deep_recursion() -> Iterator[None]:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, DEEP_GRAPHS))
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)
