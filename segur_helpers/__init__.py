"""segur-proofs: parameterised notebooks that produce Ségur referencing proofs (REM DPI, Vague 2)."""

__version__ = "0.1.0"


def __getattr__(name):  # lazy: importing the package must stay cheap (the CLI imports it)
    if name in ("open_proof", "step", "Proof"):
        from . import proof

        return getattr(proof, name)
    raise AttributeError(name)
