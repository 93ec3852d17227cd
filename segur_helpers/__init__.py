"""segur-proofs: parameterised notebooks that produce Ségur referencing proofs (REM DPI, Vague 2)."""

import sys

__version__ = "0.1.0"

# jsonschema (imported by nbformat, hence by every `segur` command that reads or writes a notebook) imports
# the optional rfc3987_syntax when it is installed (Jupyter's packages pull it in), and that module compiles
# 38 grammars at import: 1.4 s of CPU per process, for "iri" string formats that neither nbformat's schema
# nor ours uses. Marking it absent makes jsonschema skip those two formats, as it does when the package is
# not installed. Only when nothing imported it yet.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def __getattr__(name):  # lazy: importing the package must stay cheap (the CLI imports it)
    if name in ("open_proof", "step", "Proof"):
        from . import proof

        return getattr(proof, name)
    raise AttributeError(name)
