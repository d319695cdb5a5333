"""The checkpoint signer writes exactly what Go's golang.org/x/mod/sumdb/note writes (its TestSign known answer)."""

import pytest

from tools.verify_receipt import NoteVerifier, VerificationError, open_note
from transparency_log.note import KeyError_, NoteSigner, checkpoint_body

GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_SIGNED = GO_TEXT + ("\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKv"
                       "qfqdngotpRZb6KE6RyyBwJnAM=\n")


def test_signing_the_go_test_message_gives_gos_signed_note_byte_for_byte():
    signer = NoteSigner.from_skey(GO_SIGNER_KEY)
    assert signer.vkey == GO_VERIFIER_KEY
    assert signer.sign(GO_TEXT) == GO_SIGNED


def test_a_generated_key_signs_checkpoints_that_its_verifier_key_opens():
    signer = NoteSigner.from_skey(NoteSigner.generate("portal.example/consent-log"))
    body = checkpoint_body(origin="portal.example/consent-log", size=7, root_hash=bytes(32))
    assert open_note(signer.sign(body), NoteVerifier.from_vkey(signer.vkey)) == body
    other = NoteSigner.from_skey(NoteSigner.generate("portal.example/consent-log"))
    with pytest.raises(VerificationError):
        open_note(other.sign(body), NoteVerifier.from_vkey(signer.vkey))


@pytest.mark.parametrize("mangled", [
    GO_SIGNER_KEY[:-1],  # a byte short
    GO_SIGNER_KEY.replace("c74f20a3", "c74f20a4"),  # the key hash of another key
    GO_SIGNER_KEY.replace("PeterNeumann", "Peter Neumann"),  # a space in the name
    GO_SIGNER_KEY.replace("PRIVATE+KEY+", ""),  # a verifier key's shape
    GO_SIGNER_KEY.replace("+AYEK", "+AoEK"),  # another algorithm byte
    "PRIVATE+KEY+name+0000000g+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",  # not hex
])
def test_a_mangled_signer_key_is_refused_with_a_reason(mangled):
    with pytest.raises(KeyError_):
        NoteSigner.from_skey(mangled)
