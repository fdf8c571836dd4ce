"""The one exception type for mistakes a user can make (bad params, bad CSV)."""


class UserInputError(ValueError):
    """A problem in the user's input; the message names the key, column or row.

    The CLI prints it as one line and exits with code 2.
    """
