"""The person pack: today's population pipeline (see :mod:`.pack`).

Nothing is imported here, so the noise types and the validator can read the pack's contract and reference
data without pulling in the pack object, which imports them in turn.
"""
