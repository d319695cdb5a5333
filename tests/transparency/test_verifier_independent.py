"""The standalone receipt verifier against an independent RFC 9162 implementation, PyPI `pymerkle` (a test-only
dependency): for random logs of many sizes, the roots agree and every proof pymerkle produces verifies with ours.

pymerkle counts leaves from 1. Its inclusion path is [leaf hash, audit path...]: the RFC 9162 audit path is the rest.
Its consistency path descends to a leaf where RFC 9162 stops at the older tree's last subtree; `rfc9162_consistency`
folds that descent back into the one hash RFC 9162 sends (checked against the RFC's own definition below).
"""

import random

import pytest
from pymerkle import InmemoryTree

from tests.transparency import reference
from tools.verify_receipt import VerificationError, leaf_hash, node_hash, verify_consistency, verify_inclusion

SMALL = 300
LARGER = (511, 512, 513, 1000, 1024, 1025, 4099)


@pytest.fixture(scope="module")
def log():
    """A log of random 32-byte entry hashes, as the consent ledger holds, in pymerkle's RFC 9162 mode."""
    rng = random.Random(20240617)
    entries = [rng.randbytes(32) for _ in range(max(LARGER))]
    tree = InmemoryTree(algorithm="sha256", disable_security=False)
    for entry in entries:
        tree.append_entry(entry)
    return tree, entries


def rfc9162_consistency(proof) -> list[bytes]:
    path, subset = proof.path, proof.subset
    older = next(i for i in range(1, len(subset)) if subset[i])  # pymerkle's node of the older tree
    newer = path[0]
    for sibling in path[1:older]:
        newer = node_hash(newer, sibling)
    return ([path[older]] if any(subset[older + 1:]) else []) + [newer] + path[older + 1:]


def test_leaf_hashes_agree_with_pymerkle(log):
    tree, entries = log
    assert all(tree.get_leaf(i + 1) == leaf_hash(entry) for i, entry in enumerate(entries))


def test_every_inclusion_proof_of_every_log_up_to_300_leaves_verifies(log):
    tree, entries = log
    for size in range(1, SMALL + 1):
        root = tree.get_root(size)
        for index in range(size):
            path = tree.prove_inclusion(index + 1, size).path
            assert path[0] == leaf_hash(entries[index])
            verify_inclusion(index, size, leaf_hash(entries[index]), path[1:], root)


def test_every_consistency_proof_between_logs_up_to_300_leaves_verifies(log):
    tree, _ = log
    roots = {size: tree.get_root(size) for size in range(1, SMALL + 1)}
    for size2 in range(1, SMALL + 1):
        for size1 in range(1, size2 + 1):
            proof = [] if size1 == size2 else rfc9162_consistency(tree.prove_consistency(size1, size2))
            verify_consistency(size1, size2, proof, roots[size1], roots[size2])


@pytest.mark.parametrize("size", LARGER)
def test_proofs_in_larger_logs_verify(log, size):
    tree, entries = log
    rng = random.Random(size)
    root = tree.get_root(size)
    for index in {0, size - 1, *rng.sample(range(size), 40)}:
        verify_inclusion(index, size, leaf_hash(entries[index]), tree.prove_inclusion(index + 1, size).path[1:], root)
    for size1 in {1, size - 1, *rng.sample(range(1, size), 20)}:
        proof = rfc9162_consistency(tree.prove_consistency(size1, size))
        verify_consistency(size1, size, proof, tree.get_root(size1), root)


def test_the_converted_proofs_are_exactly_the_rfc9162_proofs(log):
    tree, entries = log
    hashes = [leaf_hash(entry) for entry in entries[:40]]
    for size in range(1, 41):
        assert tree.get_root(size) == reference.mth(hashes[:size])
        for index in range(size):
            assert tree.prove_inclusion(index + 1, size).path[1:] == reference.inclusion_path(index, hashes[:size])
        for size1 in range(1, size):
            assert rfc9162_consistency(tree.prove_consistency(size1, size)) == reference.consistency_proof(size1, hashes[:size])


def test_altered_pymerkle_proofs_fail(log):
    tree, entries = log
    rng = random.Random(7)
    for _ in range(300):
        size = rng.randrange(2, SMALL + 1)
        index, size1 = rng.randrange(size), rng.randrange(1, size)
        inclusion = tree.prove_inclusion(index + 1, size).path[1:]
        consistency = rfc9162_consistency(tree.prove_consistency(size1, size))
        for proof in (inclusion, consistency):
            i, bit = rng.randrange(len(proof)), 1 << rng.randrange(8)
            proof[i] = bytes([proof[i][0] ^ bit]) + proof[i][1:]
        with pytest.raises(VerificationError):
            verify_inclusion(index, size, leaf_hash(entries[index]), inclusion, tree.get_root(size))
        with pytest.raises(VerificationError):
            verify_consistency(size1, size, consistency, tree.get_root(size1), tree.get_root(size))


def test_a_forked_log_is_inconsistent_with_the_original(log):
    """A log that rewrote one old entry and re-hashed everything is consistent with itself but not with the
    checkpoints it signed before."""
    tree, entries = log
    forged = InmemoryTree(algorithm="sha256", disable_security=False)
    for i, entry in enumerate(entries[:SMALL]):
        forged.append_entry(b"\x00" * 32 if i == 100 else entry)
    for size1 in (101, 128, 200, 299):
        proof = rfc9162_consistency(forged.prove_consistency(size1, SMALL))
        verify_consistency(size1, SMALL, proof, forged.get_root(size1), forged.get_root(SMALL))
        with pytest.raises(VerificationError, match="rewritten"):
            verify_consistency(size1, SMALL, proof, tree.get_root(size1), forged.get_root(SMALL))
