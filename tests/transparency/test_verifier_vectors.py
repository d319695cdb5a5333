"""The standalone receipt verifier against published known answers: the RFC 6962 test tree and proofs of
transparency-dev/merkle, and the signed note of golang.org/x/mod/sumdb/note (see vectors/README.md)."""

import json
from pathlib import Path

import pytest

from tests.transparency import reference
from tools.verify_receipt import (
    NoteVerifier,
    VerificationError,
    leaf_hash,
    node_hash,
    open_note,
    parse_checkpoint,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).parent / "vectors"
TREE = json.loads((VECTORS / "rfc6962_tree.json").read_text())
PROOFS = json.loads((VECTORS / "rfc6962_proofs.json").read_text())
NOTE = json.loads((VECTORS / "signed_note.json").read_text(encoding="utf-8"))

LEAVES = [bytes.fromhex(value) for value in TREE["leafInputs"]]
LEAF_HASHES = [bytes.fromhex(value) for value in TREE["nodeHashes"][0]]
ROOTS = [bytes.fromhex(value) for value in TREE["rootHashes"]]
SOME_HASH = bytes.fromhex(PROOFS["sha256SomeHash"])
EMPTY_TREE_HASH = bytes.fromhex(PROOFS["sha256EmptyTreeHash"])


def hexes(values):
    return [bytes.fromhex(value) for value in values]


def flipped(proof, i, bit):
    return [bytes([p[0] ^ bit]) + p[1:] if j == i else p for j, p in enumerate(proof)]


# --- the tree ---

def test_leaf_and_interior_node_hashes_are_those_of_the_rfc6962_test_tree():
    levels = [[leaf_hash(data) for data in LEAVES]]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below), 2)])
    assert levels == [hexes(level) for level in TREE["nodeHashes"]]


def test_every_leaf_of_every_tree_size_leads_to_the_published_root_hash():
    assert reference.mth([]) == ROOTS[0] == EMPTY_TREE_HASH
    for size in range(1, len(LEAVES) + 1):
        assert reference.mth(LEAF_HASHES[:size]) == ROOTS[size]
        for index in range(size):
            path = reference.inclusion_path(index, LEAF_HASHES[:size])
            assert root_from_inclusion_proof(index, size, LEAF_HASHES[index], path) == ROOTS[size]
            verify_inclusion(index, size, LEAF_HASHES[index], path, ROOTS[size])


# --- inclusion proofs ---

INCLUSION = [pytest.param(v["leafIndex"], v["treeSize"], hexes(v["proof"]), id=f"leaf{v['leafIndex']}-size{v['treeSize']}")
             for v in PROOFS["inclusion"]]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_published_inclusion_proofs_verify(index, size, proof):
    assert root_from_inclusion_proof(index, size, LEAF_HASHES[index], proof) == ROOTS[size]
    verify_inclusion(index, size, LEAF_HASHES[index], proof, ROOTS[size])
    assert proof == reference.inclusion_path(index, LEAF_HASHES[:size])


def tampered_inclusion(index, size, proof):
    """upstream's corruptions of a good inclusion proof: (description, index, size, leaf hash, proof, root)."""
    leaf, root = LEAF_HASHES[index], ROOTS[size]
    cases = [
        ("index - 1", index - 1, size, leaf, proof, root), ("index + 1", index + 1, size, leaf, proof, root),
        ("index ^ 2", index ^ 2, size, leaf, proof, root), ("size * 2", index, size * 2, leaf, proof, root),
        ("size // 2", index, size // 2, leaf, proof, root), ("wrong leaf", index, size, b"WrongLeaf", proof, root),
        ("empty-tree root", index, size, leaf, proof, EMPTY_TREE_HASH), ("random root", index, size, leaf, proof, SOME_HASH),
        ("trailing garbage", index, size, leaf, [*proof, b""], root), ("trailing root", index, size, leaf, [*proof, root], root),
        ("preceding garbage", index, size, leaf, [b"", *proof], root),
        ("preceding root", index, size, leaf, [root, *proof], root),
    ]
    cases += [(f"proof[{i}] bit 3 flipped", index, size, leaf, flipped(proof, i, 8), root) for i in range(len(proof))]
    if proof:
        cases.append(("last component removed", index, size, leaf, proof[:-1], root))
    if len(proof) > 1:
        cases.append(("component inserted", index, size, leaf, [proof[0], SOME_HASH, *proof[1:]], root))
    return cases


TAMPERED_INCLUSION = [pytest.param(*case[1:], id=f"leaf{v['leafIndex']}-size{v['treeSize']}: {case[0]}")
                      for v in PROOFS["inclusion"]
                      for case in tampered_inclusion(v["leafIndex"], v["treeSize"], hexes(v["proof"]))]


@pytest.mark.parametrize(("index", "size", "leaf", "proof", "root"), TAMPERED_INCLUSION)
def test_tampered_inclusion_proofs_fail(index, size, leaf, proof, root):
    with pytest.raises(VerificationError):
        verify_inclusion(index, size, leaf, proof, root)


@pytest.mark.parametrize("probe", PROOFS["inclusionProbes"], ids=lambda p: f"{p['leafIndex']}/{p['treeSize']}: {p['desc']}")
def test_inclusion_edge_cases_have_the_published_outcome(probe):
    def check():
        verify_inclusion(probe["leafIndex"], probe["treeSize"], bytes.fromhex(probe["leafHash"]), hexes(probe["proof"]),
                         bytes.fromhex(probe["root"]))
    if probe["wantErr"]:
        with pytest.raises(VerificationError):
            check()
    else:
        check()


# --- consistency proofs ---

CONSISTENCY = [pytest.param(v["size1"], v["size2"], hexes(v["proof"]), id=f"{v['size1']}-to-{v['size2']}")
               for v in PROOFS["consistency"]]


@pytest.mark.parametrize(("size1", "size2", "proof"), CONSISTENCY)
def test_published_consistency_proofs_verify(size1, size2, proof):
    verify_consistency(size1, size2, proof, ROOTS[size1], ROOTS[size2])
    assert proof == reference.consistency_proof(size1, LEAF_HASHES[:size2])


def tampered_consistency(size1, size2, proof):
    """upstream's corruptions of a good consistency proof: (description, size1, size2, proof, root1, root2)."""
    root1, root2 = ROOTS[size1], ROOTS[size2]
    cases = [
        ("size1 - 1", size1 - 1, size2, proof, root1, root2), ("size1 + 1", size1 + 1, size2, proof, root1, root2),
        ("size1 ^ 2", size1 ^ 2, size2, proof, root1, root2), ("size2 * 2", size1, size2 * 2, proof, root1, root2),
        ("size2 // 2", size1, size2 // 2, proof, root1, root2),
        ("wrong root1", size1, size2, proof, b"WrongRoot", root2), ("wrong root2", size1, size2, proof, root1, b"WrongRoot"),
        ("swapped roots", size1, size2, proof, root2, root1), ("empty proof", size1, size2, [], root1, root2),
        ("trailing garbage", size1, size2, [*proof, b""], root1, root2),
        ("trailing root1", size1, size2, [*proof, root1], root1, root2),
        ("trailing root2", size1, size2, [*proof, root2], root1, root2),
        ("preceding garbage", size1, size2, [b"", *proof], root1, root2),
        ("preceding root1", size1, size2, [root1, *proof], root1, root2),
        ("preceding root2", size1, size2, [root2, *proof], root1, root2),
        ("preceding proof[0]", size1, size2, [proof[0], *proof], root1, root2),
        ("truncated", size1, size2, proof[:-1], root1, root2),
    ]
    return cases + [(f"proof[{i}] bit 4 flipped", size1, size2, flipped(proof, i, 16), root1, root2) for i in range(len(proof))]


TAMPERED_CONSISTENCY = [pytest.param(*case[1:], id=f"{v['size1']}-to-{v['size2']}: {case[0]}")
                        for v in PROOFS["consistency"] if v["proof"]
                        for case in tampered_consistency(v["size1"], v["size2"], hexes(v["proof"]))]


@pytest.mark.parametrize(("size1", "size2", "proof", "root1", "root2"), TAMPERED_CONSISTENCY)
def test_tampered_consistency_proofs_fail(size1, size2, proof, root1, root2):
    with pytest.raises(VerificationError):
        verify_consistency(size1, size2, proof, root1, root2)


@pytest.mark.parametrize("probe", PROOFS["consistencyProbes"], ids=lambda p: f"{p['size1']}-to-{p['size2']}: {p['desc']}")
def test_consistency_edge_cases_have_the_published_outcome(probe):
    def check():
        verify_consistency(probe["size1"], probe["size2"], hexes(probe["proof"]), bytes.fromhex(probe["root1"]),
                           bytes.fromhex(probe["root2"]))
    if probe["wantErr"]:
        with pytest.raises(VerificationError):
            check()
    else:
        check()


def test_a_rewritten_log_fails_consistency_with_every_earlier_tree():
    rewritten = [*LEAF_HASHES[:2], leaf_hash(b"forged"), *LEAF_HASHES[3:]]
    for size1 in range(3, 8):
        proof = reference.consistency_proof(size1, rewritten)
        verify_consistency(size1, 8, proof, reference.mth(rewritten[:size1]), reference.mth(rewritten))
        with pytest.raises(VerificationError, match="rewritten"):
            verify_consistency(size1, 8, proof, ROOTS[size1], reference.mth(rewritten))


# --- signed notes (golang.org/x/mod/sumdb/note) ---

TEXT, PETER, ENOCH = NOTE["text"], NOTE["signatures"][0], NOTE["signatures"][1]


def peter():
    return NoteVerifier.from_vkey(NOTE["verifierKey"])


def test_the_go_verifier_key_parses_to_its_name_and_key_hash():
    assert (peter().name, f"{peter().key_id:08x}") == ("PeterNeumann", NOTE["keyHash"])


def test_signing_with_the_go_signer_key_reproduces_the_go_signed_note_byte_for_byte():
    assert reference.sign_note(TEXT, NOTE["signerKey"]) == TEXT + "\n" + PETER
    assert reference.vkey_of(NOTE["signerKey"]) == NOTE["verifierKey"]


def test_the_go_signed_note_opens_and_unknown_cosignatures_are_ignored():
    assert open_note(TEXT + "\n" + PETER, peter()) == TEXT
    assert open_note(TEXT + "\n" + PETER + ENOCH, peter()) == TEXT
    assert open_note(TEXT + "\n" + ENOCH + PETER, peter()) == TEXT
    assert open_note(TEXT + "\n" + ENOCH, NoteVerifier.from_vkey(NOTE["otherVerifierKey"])) == TEXT


def test_repeated_and_unverifiable_foreign_signatures_do_not_matter():
    enoch_altered = ENOCH[:60] + "ABCD" + ENOCH[60:]
    assert open_note(TEXT + "\n" + PETER + PETER + ENOCH + ENOCH + enoch_altered, peter()) == TEXT


def test_only_the_first_signature_by_the_key_counts_as_in_go():
    assert open_note(TEXT + "\n" + PETER + PETER[:60] + "ABCD" + PETER[60:], peter()) == TEXT


def test_a_note_signed_only_by_another_key_is_refused():
    with pytest.raises(VerificationError, match="no signature by key PeterNeumann"):
        open_note(TEXT + "\n" + ENOCH, peter())


@pytest.mark.parametrize("note", [
    pytest.param(TEXT.replace("problem", "solution") + "\n" + PETER, id="altered text"),
    pytest.param(TEXT + "\n" + PETER[:60] + "ABCD" + PETER[60:], id="altered signature"),
])
def test_an_altered_note_fails_its_signature(note):
    with pytest.raises(VerificationError, match="invalid signature by key PeterNeumann"):
        open_note(note, peter())


@pytest.mark.parametrize("note", [
    pytest.param(TEXT, id="no signatures"),
    pytest.param(TEXT + "\n", id="blank line only"),
    pytest.param(TEXT + "\n" + PETER[:-1], id="no final newline"),
    pytest.param("\x01" + TEXT + "\n" + PETER, id="control character"),
    pytest.param("\ud800" + TEXT + "\n" + PETER, id="not unicode text"),
    pytest.param(TEXT + "\n" + PETER.replace("PeterNeumann", "Bad Name"), id="name with a space"),
    pytest.param(TEXT + "\n" + PETER + "Unexpected line.\n", id="line that is no signature"),
    pytest.param(TEXT + "\n" + PETER * 101, id="101 signatures"),
    pytest.param(TEXT + "\n" + "\u2014 PeterNeumann x08g\n", id="signature too short"),
    pytest.param(TEXT + "\n" + "\u2014 PeterNeumann not*base64\n", id="signature not base64"),
])
def test_malformed_notes_are_refused_as_malformed(note):
    with pytest.raises(VerificationError, match="malformed|base64"):
        open_note(note, peter())


def test_every_mangling_of_the_go_verifier_key_is_refused():
    vkey = NOTE["verifierKey"]
    manglings = {vkey[i:j] for i in range(len(vkey) + 1) for j in range(i + 1, len(vkey) + 1)} - {vkey}
    manglings |= {vkey[:i] + chr(ord(vkey[i]) + 1) + vkey[i + 1:] for i in range(len(vkey))}
    manglings |= set(NOTE["badVerifierKeys"])
    for mangled in manglings:
        with pytest.raises(VerificationError):
            NoteVerifier.from_vkey(mangled)


# --- checkpoint bodies (C2SP tlog-checkpoint) ---

ROOT_B64 = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="  # the root hash of the 8-leaf tree


def test_a_checkpoint_body_gives_origin_size_root_and_extension_lines():
    checkpoint = parse_checkpoint(f"portal.example/consent-log\n8\n{ROOT_B64}\nextra one\nextra two\n")
    assert checkpoint.origin == "portal.example/consent-log" and checkpoint.size == 8 and checkpoint.root_hash == ROOTS[8]
    assert checkpoint.extensions == ("extra one", "extra two")
    assert parse_checkpoint(f"log\n0\n{ROOT_B64}\n").size == 0


@pytest.mark.parametrize("body", [
    pytest.param(f"log\n8\n{ROOT_B64}", id="no final newline"),
    pytest.param("log\n8\n", id="no root hash"),
    pytest.param(f"\n8\n{ROOT_B64}\n", id="empty origin"),
    pytest.param(f"log\n08\n{ROOT_B64}\n", id="leading zero"),
    pytest.param(f"log\n+8\n{ROOT_B64}\n", id="plus sign"),
    pytest.param(f"log\n8 \n{ROOT_B64}\n", id="trailing space"),
    pytest.param(f"log\n\u0668\n{ROOT_B64}\n", id="non-ASCII digit"),
    pytest.param(f"log\n{1 << 64}\n{ROOT_B64}\n", id="beyond 64 bits"),
    pytest.param("log\n8\nXcnaeacGWamtVZy3Ad7Zoqud\n", id="short root hash"),
    pytest.param("log\n8\nnot base64!\n", id="root not base64"),
    pytest.param(f"log\n8\n{ROOT_B64}\n\nextension\n", id="empty extension line"),
])
def test_malformed_checkpoint_bodies_are_refused(body):
    with pytest.raises(VerificationError, match="checkpoint"):
        parse_checkpoint(body)
