"""mmm-lab: simulate, check, recover and fit Media Mix Models against a known truth."""

__version__ = "0.1.0"
