"""The project's exceptions for outcomes the CLI turns into exit codes (never a traceback)."""


class UserInputError(ValueError):
    """A problem in the user's input; the message names the key, column or row.

    The CLI prints it as one line and exits with code 2.
    """


class GateFailure(RuntimeError):
    """A convergence gate failed where the user asked for strictness (``fit.strict: true``).

    Raised after every output has been written and logged; the CLI prints it as one line and
    exits with code 1.
    """


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived: the stage stops, keeps the previous outputs and exits 128 + signal.

    A subclass of KeyboardInterrupt, so code that already treats Ctrl-C as "stop now" treats a
    SIGTERM the same way.
    """

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum
