"""C2PA provenance read from a take's original file, over c2pa-python.

State rule (what the library reports, mapped without embellishment):
- no manifest, or a container that cannot carry one (WebM, MKV) → ``none``;
- ``validation_state`` "Trusted" → ``valid`` and trusted;
- ``validation_state`` "Valid" → ``valid``, not trusted: the manifest is intact and its signature
  verifies, but the certificate does not chain to a trust list we load (we load none, so every
  signer is "untrusted" today; the library lists ``signingCredential.untrusted`` as a failure);
- ``validation_state`` "Invalid" (hash mismatch after editing, bad signature…) → ``invalid``;
- a file or manifest that cannot be parsed → ``error`` with the library's message.

Provenance is information, never a gate: ``read_provenance`` does not raise.
"""

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import c2pa

log = logging.getLogger(__name__)

NONE, VALID, INVALID, ERROR = "none", "valid", "invalid", "error"
UNTRUSTED_CODE = "signingCredential.untrusted"

_IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
# IPTC digital source types a reviewer cares about; the first two mean a model made the pixels.
AI_SOURCE_TYPES = {
    _IPTC + "trainedAlgorithmicMedia": "AI generated",
    _IPTC + "compositeWithTrainedAlgorithmicMedia": "AI composite",
}
SOURCE_TYPE_LABELS = {
    **AI_SOURCE_TYPES,
    _IPTC + "algorithmicMedia": "algorithmic",
    _IPTC + "digitalCapture": "camera capture",
    _IPTC + "compositeCapture": "composite capture",
    _IPTC + "compositeSynthetic": "synthetic composite",
    _IPTC + "digitalCreation": "digital creation",
    _IPTC + "screenCapture": "screen capture",
}


@dataclass
class Provenance:
    state: str
    trusted: bool = False
    generator: str = ""
    signer: str = ""
    issuer: str = ""
    signed_at: datetime | None = None
    actions: list[dict] = field(default_factory=list)
    ai_generated: bool = False
    messages: list[dict] = field(default_factory=list)
    manifest_store: dict | None = None


def read_provenance(path) -> Provenance:
    """Read and validate the C2PA manifest store of the file at `path`."""
    try:
        reader = c2pa.Reader.try_create(str(path))
        if reader is None:
            return Provenance(state=NONE)
        with reader:
            store = json.loads(reader.json())
    except c2pa.C2paError.NotSupported as exc:
        return Provenance(state=NONE, messages=[_message("notSupported", exc)])
    except c2pa.C2paError as exc:
        return Provenance(state=ERROR, messages=[_message("readError", exc)])
    except Exception as exc:  # a binding or JSON surprise must never break media processing
        log.exception("C2PA read failed for %s", path)
        return Provenance(state=ERROR, messages=[_message("readError", exc)])
    return provenance_from_store(store)


def provenance_from_store(store: dict) -> Provenance:
    manifest = store.get("manifests", {}).get(store.get("active_manifest") or "", {})
    validation = store.get("validation_state")
    failures = store.get("validation_results", {}).get("activeManifest", {}).get("failure")
    if failures is None:  # older stores only carry the flat list
        failures = store.get("validation_status") or []
    if validation is None:
        validation = (
            "Invalid" if any(f.get("code") != UNTRUSTED_CODE for f in failures) else "Valid"
        )
    signature = manifest.get("signature_info") or {}
    actions = _actions(manifest)
    return Provenance(
        state=INVALID if validation == "Invalid" or not manifest else VALID,
        trusted=validation == "Trusted",
        generator=_generator(manifest),
        signer=str(signature.get("common_name") or "")[:255],
        issuer=str(signature.get("issuer") or "")[:255],
        signed_at=_parse_time(signature.get("time")),
        actions=actions,
        ai_generated=any(a["source_type"] in AI_SOURCE_TYPES for a in actions),
        messages=[
            {"code": str(f.get("code", "")), "explanation": str(f.get("explanation", ""))}
            for f in failures
        ],
        manifest_store=store,
    )


def _generator(manifest: dict) -> str:
    info = manifest.get("claim_generator_info") or []
    if info and info[0].get("name"):
        first = info[0]
        return " ".join(str(p) for p in (first["name"], first.get("version")) if p)[:200]
    # v1 claims carry a user-agent style string: "OpenAI Sora/1.0 c2pa-rs/0.x".
    return str(manifest.get("claim_generator") or "")[:200]


def _actions(manifest: dict) -> list[dict]:
    out = []
    for assertion in manifest.get("assertions") or []:
        if not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        for action in (assertion.get("data") or {}).get("actions") or []:
            source = str(action.get("digitalSourceType") or "")
            agent = action.get("softwareAgent") or ""
            if isinstance(agent, dict):
                agent = agent.get("name", "")
            out.append(
                {
                    "action": str(action.get("action", "")),
                    "source_type": source,
                    "source_label": SOURCE_TYPE_LABELS.get(source, source.rsplit("/", 1)[-1]),
                    "software_agent": str(agent),
                }
            )
    return out


def _parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def _message(code: str, exc: Exception) -> dict:
    return {"code": code, "explanation": str(exc)[:500]}
