"""pymc-marketing components of the project's own: the recursive geometric adstock and the mean-response Hill."""
