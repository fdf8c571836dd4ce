"""SIGINT and SIGTERM as :class:`~mmmlab.errors.Interrupted`, with a record of every one that arrived.

The `mmmlab` command installs :func:`handled` around everything it does. The handler notes the
signal, then raises. The note is there because libraries catch KeyboardInterrupt (and so
``Interrupted``) and carry on: nutpie returns the draws made so far, PyMC's posterior predictive
stops early and returns what it has. Code after such a call asks :func:`since` whether a signal
arrived and stops itself; a stage's :class:`~mmmlab.files.OutputSet` never commits after one.

Nothing here changes process state on import; the handlers live only inside :func:`handled`.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from mmmlab.errors import Interrupted

SIGNALS = (signal.SIGINT, signal.SIGTERM)

_received: list[int] = []  # every signal the handler saw, in order
_deferring = 0  # > 0 inside deferred(): the handler notes signals without raising
_replaced = False  # the running stage's outputs were replaced (its OutputSet committed)
_stopping = False  # the command's outcome is decided: later signals are only noted


def _handler(signum: int, frame) -> None:
    _received.append(signum)
    if not (_deferring or _stopping):
        raise Interrupted(signum)


def _unraisable(unraisable, fallback=sys.__unraisablehook__) -> None:
    """An Interrupted raised inside a finalizer or a weakref callback (the garbage collector ran them).

    Python prints such an exception as "Exception ignored in ..." with a traceback, and drops it.
    Stay silent and send the signal again, from another thread, so that it lands in the stage's
    own code a moment later; anything else goes to ``fallback``.
    """
    if isinstance(unraisable.exc_value, Interrupted):
        again = threading.Timer(0.01, os.kill, (os.getpid(), unraisable.exc_value.signum))
        again.daemon = True
        again.start()
        return
    fallback(unraisable)


@contextmanager
def handled(*, keep: bool = False) -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`~mmmlab.errors.Interrupted` inside the block.

    Installed whatever the handlers were before: a process started with SIGINT ignored (a
    background job, some process supervisors) would otherwise never see Ctrl-C, and SIGTERM by
    default kills without any cleanup. The record of received signals starts empty. Call it from
    the main thread (Python runs signal handlers only there). When the handler happens to run
    inside a finalizer or a weakref callback, where Python would print the exception and drop it,
    the signal is sent again (see :func:`_unraisable`).

    Parameters
    ----------
    keep : bool
        False: the previous handlers come back after the block. True (the block is all the
        process does): the two signals are ignored from then on, so one arriving while the
        interpreter shuts down (its exit hooks and module teardown take up to two seconds after
        a stage) neither prints a traceback nor changes the exit code the block decided. Ignored,
        not handled: at shutdown Python puts the default action back for signals it handles,
        which would kill the process (exit status -2 or -15) without the line.

    Yields
    ------
    None
    """
    global _stopping
    previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
    previous_hook = sys.unraisablehook
    _received.clear()
    note_replaced(False)
    _stopping = False
    for signum in SIGNALS:
        signal.signal(signum, _handler)
    sys.unraisablehook = lambda unraisable: _unraisable(unraisable, previous_hook)
    try:
        yield
    finally:
        if keep:
            for signum in SIGNALS:
                signal.signal(signum, signal.SIG_IGN)
        else:
            for signum, handler in previous.items():
                signal.signal(signum, signal.SIG_DFL if handler is None else handler)
            sys.unraisablehook = previous_hook


def mark() -> int:
    """A bookmark in the record of signals, for :func:`since`.

    Returns
    -------
    int
        How many signals have arrived so far.
    """
    return len(_received)


def since(bookmark: int = 0) -> int | None:
    """The first signal that arrived after ``bookmark`` (None: none did).

    Parameters
    ----------
    bookmark : int
        From :func:`mark`; 0 means since the handlers were installed.

    Returns
    -------
    int or None
        The signal number.
    """
    return _received[bookmark] if len(_received) > bookmark else None


def check(bookmark: int = 0) -> None:
    """Raise :class:`~mmmlab.errors.Interrupted` if a signal arrived after ``bookmark``, even one a library swallowed.

    Parameters
    ----------
    bookmark : int
        From :func:`mark`.

    Raises
    ------
    Interrupted
        For the first such signal.
    """
    signum = since(bookmark)
    if signum is not None:
        raise Interrupted(signum)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back for a short block; one that arrived meanwhile is raised at its end.

    The signals are blocked in this thread (``pthread_sigmask``): a held-back signal is delivered
    when the block ends, and its handler raises there. Blocking in one thread is not enough when the
    process has others (samplers, MLflow and BLAS start some): the kernel then hands the signal to
    another thread and Python runs the handler in the main thread at once. So the handler, while a
    block is deferring, only notes the signal, and the block raises it at its end.

    Yields
    ------
    None

    Raises
    ------
    Interrupted
        After the block, for a signal that arrived during it.
    """
    global _deferring
    start = mark()
    current = signal.pthread_sigmask(signal.SIG_BLOCK, ())  # the mask as it is (a pending handler may run here)
    _deferring += 1
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        yield
    finally:
        _deferring -= 1
        signal.pthread_sigmask(signal.SIG_SETMASK, current)  # a held-back signal's handler runs (and raises) here
    check(start)


def stopping() -> None:
    """From now on (until :func:`handled` is entered again) signals are only noted.

    The command calls it once its outcome is decided (done, a user error, stopping on a signal):
    a signal after that must not replace the exit code or the one line it prints.
    """
    global _stopping
    _stopping = True


def note_replaced(replaced: bool) -> None:
    """Note whether the running stage has replaced its outputs (:class:`~mmmlab.files.OutputSet` calls it).

    Parameters
    ----------
    replaced : bool
        False when a stage's output set opens, True once it has committed.
    """
    global _replaced
    _replaced = replaced


def message() -> str:
    """The one line the command prints when a signal stops it: were the outputs replaced or kept?

    Returns
    -------
    str
        ``"interrupted: previous outputs kept"``, or, when the signal came after the stage had
        replaced its outputs, ``"interrupted: new outputs complete"``.
    """
    return "interrupted: new outputs complete" if _replaced else "interrupted: previous outputs kept"
