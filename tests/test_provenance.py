"""C2PA provenance: MP4s rendered with PyAV and signed here with a throwaway test CA, read back
by c2pa-python as the media task does; a real worker stores it and the take page shows it."""

import datetime
import functools
import json
import shutil
import tempfile
import time
from pathlib import Path

import c2pa
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.test import Client
from django.urls import reverse

from generations.models import ProvenanceState, Take, TakeStatus
from generations.services.media import render_test_clip
from generations.services.provenance import read_provenance

from .clips import upload

AI_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
MANIFEST = {
    "claim_generator_info": [{"name": "Test Sora", "version": "2.0"}],
    "title": "take.mp4",
    "assertions": [
        {
            "label": "c2pa.actions",
            "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": AI_MEDIA}]},
        }
    ],
}


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Dailies Test"),
        ]
    )


def _key_usage(*, sign_certs: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not sign_certs,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=sign_certs,
        crl_sign=sign_certs,
        encipher_only=False,
        decipher_only=False,
    )


@functools.cache
def _signer_pems() -> tuple[bytes, bytes]:
    """An ES256 test CA and a leaf it signs (c2pa refuses a self-signed leaf): chain, key."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def cert(subject, issuer, public_key, *, ca: bool):
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(_key_usage(sign_certs=ca), critical=True)
        )
        if ca:
            builder = builder.add_extension(
                x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False
            )
        else:  # c2pa checks the leaf's signing EKU and its link to the CA
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
            ).add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
        return builder.sign(ca_key, hashes.SHA256())

    ca = cert(_name("Dailies Test CA"), _name("Dailies Test CA"), ca_key.public_key(), ca=True)
    leaf = cert(_name("Test Video Generator"), ca.subject, key.public_key(), ca=False)
    chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (leaf, ca))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return chain, key_pem


@pytest.fixture(scope="session")
def clip_dir():
    path = Path(tempfile.mkdtemp(prefix="dailies-c2pa-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def unsigned_mp4(clip_dir) -> Path:
    path = clip_dir / "unsigned.mp4"
    render_test_clip(path, seconds=1.0, fps=24, size=(160, 96))
    return path


@pytest.fixture(scope="session")
def signed_mp4(clip_dir, unsigned_mp4) -> Path:
    chain, key_pem = _signer_pems()
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, key_pem, None)
    path = clip_dir / "signed.mp4"
    with c2pa.Signer.from_info(info) as signer, c2pa.Builder(MANIFEST) as builder:
        builder.sign_file(unsigned_mp4, path, signer)
    return path


@pytest.fixture
def tampered_mp4(signed_mp4, tmp_path) -> Path:
    """The signed file with 64 bytes of picture data flipped after signing."""
    data = bytearray(signed_mp4.read_bytes())
    start = data.index(b"mdat") + 200
    data[start : start + 64] = bytes(b ^ 0xFF for b in data[start : start + 64])
    path = tmp_path / "tampered.mp4"
    path.write_bytes(bytes(data))
    return path


def test_a_signed_ai_take_reads_back_valid_with_an_untrusted_signer(signed_mp4):
    found = read_provenance(signed_mp4)

    assert found.state == "valid"
    # The library says "Valid", not "Trusted": our test CA is on no trust list.
    assert found.trusted is False
    assert [m["code"] for m in found.messages] == ["signingCredential.untrusted"]
    assert found.ai_generated is True
    assert found.generator == "Test Sora 2.0"
    assert (found.signer, found.issuer) == ("Test Video Generator", "Dailies Test")
    assert found.signed_at is None  # signed without a timestamp authority
    assert found.actions == [
        {
            "action": "c2pa.created",
            "source_type": AI_MEDIA,
            "source_label": "AI generated",
            "software_agent": "",
        }
    ]
    assert found.manifest_store["validation_state"] == "Valid"
    json.dumps(found.manifest_store)  # storable as is in a JSONField


def test_an_unsigned_mp4_has_no_provenance(unsigned_mp4):
    found = read_provenance(unsigned_mp4)
    assert (found.state, found.ai_generated, found.messages) == ("none", False, [])
    assert found.manifest_store is None


def test_bytes_changed_after_signing_make_it_invalid(tampered_mp4):
    found = read_provenance(tampered_mp4)

    assert found.state == "invalid"
    codes = {m["code"] for m in found.messages}
    assert "assertion.bmffHash.mismatch" in codes
    assert any("hash mismatch" in m["explanation"] for m in found.messages)
    # What the manifest claims is still reported, for the reviewer to weigh.
    assert found.generator == "Test Sora 2.0" and found.ai_generated


@pytest.mark.parametrize(
    "name, data, state",
    [
        ("notes.txt", b"not a video at all\n", "none"),  # no container C2PA knows
        ("fake.mp4", b"not a video at all\n", "error"),  # claims MP4, cannot be parsed
    ],
)
def test_a_file_that_is_no_video_never_raises(name, data, state, tmp_path):
    path = tmp_path / name
    path.write_bytes(data)
    found = read_provenance(path)
    assert found.state == state
    assert found.messages and found.messages[0]["explanation"]


def test_a_corrupt_manifest_is_an_error_not_an_exception(signed_mp4, tmp_path):
    data = bytearray(signed_mp4.read_bytes())
    start = data.index(b"jumb") + 50  # inside the manifest store box
    data[start : start + 40] = bytes(b ^ 0x55 for b in data[start : start + 40])
    path = tmp_path / "corrupt.mp4"
    path.write_bytes(bytes(data))
    found = read_provenance(path)
    assert found.state == "error"
    assert found.messages[0]["explanation"]


def test_a_missing_file_is_an_error(tmp_path):
    assert read_provenance(tmp_path / "gone.mp4").state == "error"


# --- with a real Celery worker ----------------------------------------------------------------


def wait_for(take_id: int, timeout: float = 20.0) -> Take:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        take = Take.objects.get(pk=take_id)
        if take.status != TakeStatus.PROCESSING:
            return take
        time.sleep(0.05)
    raise AssertionError(f"take {take_id} still processing after {timeout}s")


@pytest.mark.worker
def test_the_worker_stores_provenance_and_the_take_page_shows_it(
    celery_worker, members, project, version, signed_mp4, unsigned_mp4
):
    client = Client()
    client.force_login(members["lead"])
    url = reverse("take_upload", args=[project.slug, version.pk])
    response = client.post(
        url,
        {
            "files": [
                upload("sora.mp4", signed_mp4.read_bytes()),
                upload("plain.mp4", unsigned_mp4.read_bytes()),
            ],
            "model": "sora-2",
        },
    )
    assert response.status_code == 302
    signed = wait_for(Take.objects.get(original_filename="sora.mp4").pk)
    plain = wait_for(Take.objects.get(original_filename="plain.mp4").pk)

    assert signed.status == TakeStatus.READY and signed.poster
    assert signed.provenance_state == ProvenanceState.VALID
    assert signed.ai_generated and not signed.provenance_trusted
    assert signed.provenance_generator == "Test Sora 2.0"
    assert signed.provenance_signer == "Test Video Generator"
    assert signed.provenance_actions[0]["action"] == "c2pa.created"
    assert signed.provenance_manifest["active_manifest"]
    assert plain.status == TakeStatus.READY
    assert (plain.provenance_state, plain.ai_generated) == (ProvenanceState.NONE, False)

    page = client.get(signed.get_absolute_url()).content.decode()
    assert "C2PA valid · AI generated by Test Sora 2.0" in page
    assert "untrusted signer" in page and "Test Video Generator" in page
    assert "c2pa.created" in page and "Not read yet" not in page
    assert "no provenance" in client.get(plain.get_absolute_url()).content.decode()
    queue = client.get(reverse("review_queue", args=[project.slug]), {"take": signed.pk})
    assert "C2PA valid" in queue.content.decode()


@pytest.mark.worker
def test_a_tampered_take_is_ready_with_invalid_provenance(
    celery_worker, members, project, version, tampered_mp4
):
    """Provenance is information, not a gate: the take plays and is reviewable."""
    client = Client()
    client.force_login(members["lead"])
    url = reverse("take_upload", args=[project.slug, version.pk])
    client.post(url, {"files": upload("edited.mp4", tampered_mp4.read_bytes()), "model": "x"})
    take = wait_for(Take.objects.get().pk)

    assert take.status == TakeStatus.READY
    assert take.provenance_state == ProvenanceState.INVALID
    page = client.get(take.get_absolute_url()).content.decode()
    assert "C2PA invalid" in page and "assertion.bmffHash.mismatch" in page
