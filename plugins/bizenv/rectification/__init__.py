"""The problem register (整改台账): problems each unit must rectify, their deadlines and
supervision, the workbook round trip with the units, and the append-only history of every change.

(`bizenv.ingest.problems` is something else: the faults found in input rows.)"""

from bizenv.rectification.register import Change, Refused, create_problems, transition

__all__ = ["Change", "Refused", "create_problems", "transition"]
