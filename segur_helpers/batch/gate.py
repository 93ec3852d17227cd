"""Which proof may start now: never one beside a proof it conflicts with on the target.

The workers take their proofs from one :class:`Gate`, in schedule order; :func:`conflicts` says which
two proofs must not run at the same time: one interrupts a shared service the other uses, or one reads
a part of the target's state as a whole (every account, to check an extract is complete) while the
other changes that part (creates an account). Local workers and Dask workers take their proofs from
the same gate.
"""
from __future__ import annotations

import asyncio

from .plan import Planned


def conflicts(a: Planned, b: Planned) -> bool:
    """True when ``a`` and ``b`` must not run at the same time: one interrupts a shared service of the
    target (catalogue ``disrupts``) that the other uses (its tags) or interrupts too, or one reads a part
    of the target's state as a whole (``reads_all``) that the other changes (``writes``). A proof that
    is not applicable only writes its justification and never conflicts."""
    if not (a.condition_met and b.condition_met):
        return False
    uses_a = set(a.requirement.tags) | set(a.scenario.disrupts)
    uses_b = set(b.requirement.tags) | set(b.scenario.disrupts)
    if set(a.scenario.disrupts) & uses_b or set(b.scenario.disrupts) & uses_a:
        return True
    return bool(set(a.scenario.reads_all) & set(b.scenario.writes) or set(b.scenario.reads_all) & set(a.scenario.writes))


class Gate:
    """Hands the workers their next proof: the first one, in schedule order, that conflicts with no
    proof in flight; a worker waits while every remaining one conflicts."""

    def __init__(self, items: list[Planned]):
        self.pending = list(items)
        self.running: list[Planned] = []
        self.cond = asyncio.Condition()

    async def take(self) -> Planned | None:
        async with self.cond:
            while self.pending:
                for i, item in enumerate(self.pending):
                    if not any(conflicts(item, r) for r in self.running):
                        self.running.append(self.pending.pop(i))
                        return item
                await self.cond.wait()
            return None

    async def release(self, item: Planned) -> None:
        async with self.cond:
            if item in self.running:
                self.running.remove(item)
            self.cond.notify_all()
