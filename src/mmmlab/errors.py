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
