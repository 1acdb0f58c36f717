"""The evidence that the log is the one that was recorded: signed notes, checkpoints,
inclusion and consistency proofs, full verification, case bundles and the witness.

It reads the sealed log the store keeps (leaf hashes and the Merkle frontier) and
knows nothing of prisons.
"""
