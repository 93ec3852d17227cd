"""Batch runs: a campaign's proofs in parallel, one proof folder each, PDFs, summary, manifest, run record.

Everything that can be wrong with the input is checked before the run folder exists (params, secret
variables, driver import, notebooks, Chromium, signing key), so bad input never leaves a half-written
run folder. A run folder is ``outputs/<campaign>/<run-id>/`` and a new run never reuses an existing one.

How a run spends its time (fixed costs once per run, not once per proof):

* one system Chromium for the whole run (:mod:`..shared_browser`), each proof in its own contexts;
  the PDF export prints through the same browser;
* ``workers`` warm kernels (:mod:`..kernels`), each reused from proof to proof with a reset namespace,
  parameters injected as papermill does; a proof's PDF is exported while its worker runs the next one;
* a per-proof timeout kills a hung kernel: the proof is ERREUR naming the step it hung in
  (``progress.json``), and the others go on.

``run --resume`` finishes an interrupted run; ``rerun --failed`` runs the ERREUR / NON CONFORME
proofs again in the same run folder, the earlier attempt kept under ``<proof>/attempts/<n>/``.

One module per concern, in the order a run goes through them; each imports only the ones before it:

* :mod:`.plan`: the scenarios in scope, the input checks, longest first (:func:`schedule`);
* :mod:`.gate`: which proof may start beside the ones in flight (:func:`conflicts`, :class:`Gate`);
* :mod:`.progress`: the bar or the lines the operator sees;
* :mod:`.state`: the :class:`Options`, the run's shared state, a proof's :class:`Outcome`;
* :mod:`.proofdir`: the run folder, each proof's folder and its earlier attempts, secrets scrubbed;
* :mod:`.one_proof`: one proof's parameters, its result, its justification, its files finished;
* :mod:`.workdir`: a run's lock and private folder (temporary files, processes, disrupted services),
  and the reaping of what a crashed session left;
* :mod:`.chromium`: the run's Chromium, started again when it dies;
* :mod:`.guard`: the target's shared services a proof disrupts, restored outside the kernel;
* :mod:`.local`, :mod:`.dask_executor`: the two executors (warm kernels here, or a Dask cluster);
* :mod:`.seal`: ``run.json``, summary, manifest and signature when a session ends;
* :mod:`.session`: one session: lock, private folder, the run's Chromium, the executor, interruption,
  an unwritable folder, the seal;
* :mod:`.run`: :func:`run_campaign`, :func:`resume_run`, :func:`rerun_failed` and :func:`exit_code`.
"""
from __future__ import annotations

from ..proof import CONFORME
from ..runfolder import MANIFEST, RUN_RECORD, write_manifest
from .gate import Gate, conflicts
from .plan import Planned, measured_durations, plan, preflight, schedule
from .proofdir import NOTEBOOK_NAME
from .run import exit_code, rerun_failed, resume_run, run_campaign
from .state import Options, Outcome

__all__ = ["preflight", "run_campaign", "resume_run", "rerun_failed", "exit_code", "plan", "Planned", "Outcome",
           "Options", "schedule", "measured_durations", "conflicts", "Gate",
           # kept for callers of the first version
           "MANIFEST", "RUN_RECORD", "NOTEBOOK_NAME", "write_manifest", "CONFORME"]
