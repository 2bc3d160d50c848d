"""Sign files in the run's signing session (`keyless.session`): the same ephemeral key and
Fulcio certificate as every image of the run. Per file: skip it when this identity's valid
bundle for its content is there, else sign its sha256 (Rekor v1 hashedrekord), write the
bundle (and the legacy `.sig`/`.pem`), and read the bundle back from disk and verify it.

A file that fails is a result; the others go on. Only Fulcio's refusal stops the run (nothing
can be signed without a certificate), as it does for images.
"""

from __future__ import annotations

import base64
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from shipsign.blobs.existing import Existing, check_existing, legacy_parts
from shipsign.blobs.model import FileOutcome, FileResult, FileSignOptions
from shipsign.blobs.outputs import read_if_exists, write_atomically
from shipsign.blobs.plan import FilePlan, PlannedFile, plan_files
from shipsign.errors import InputError, InternalError, ShipsignError
from shipsign.keyless.bundle_verify import verify_bundle
from shipsign.keyless.policy import IdentityPolicy
from shipsign.keyless.session import SigningSession

__all__ = ["sign_files"]

_log = logging.getLogger(__name__)
_WORKERS = 8  # Rekor uploads in flight


@dataclass(frozen=True, slots=True, kw_only=True)
class _Context:
    session: SigningSession
    plan: FilePlan
    policy: IdentityPolicy  # the identity we sign as: for the read-back
    verify_after: bool

    @property
    def legacy(self) -> bool:
        return self.plan.options.legacy_outputs


def sign_files(
    session: SigningSession,
    files: FileSignOptions | FilePlan,
    *,
    verify_after: bool = True,
) -> tuple[FileResult, ...]:
    """Sign every file of `files` (options, or a plan made earlier with `plan_files`) in
    `session`; one result per file, in plan order (the checksums file last).

    A bundle already there counts only when it is valid and names whom the session's token
    claims. Raises `InputError` for bad input (when given options) and what Fulcio answered
    when no certificate could be had; nothing else.
    """
    plan = files if isinstance(files, FilePlan) else plan_files(files)
    material = session.material
    found = [
        Existing(bundle=None, valid=False)
        if plan.options.force
        else check_existing(f.outputs.bundle, f.sha256, trust=material, policy=session.claimed)
        for f in plan.files
    ]
    if any(not e.valid for e in found):
        session.certify()  # Fulcio's refusal stops the run here, before anything is written
    context = _Context(
        session=session,
        plan=plan,
        policy=session.signed_as_policy(),  # the certificate's, the token's when none was needed
        verify_after=verify_after,
    )
    if not plan.files:
        return ()
    with ThreadPoolExecutor(max_workers=min(_WORKERS, len(plan.files))) as workers:
        futures = [
            workers.submit(_contained, context, planned, existing)
            for planned, existing in zip(plan.files, found, strict=True)
        ]
        return tuple(future.result() for future in futures)


def _contained(context: _Context, planned: PlannedFile, existing: Existing) -> FileResult:
    """One file; a bug below is this file's failure (exit 4), never the loss of the report."""
    try:
        return _one(context, planned, existing)
    except ShipsignError as exc:
        return _result(planned, FileOutcome.FAILED, detail=exc.what, error=exc)
    except Exception as exc:
        _log.debug("unexpected error while signing %s", planned.path, exc_info=True)
        error = InternalError(
            f"internal error while signing {planned.path}: {type(exc).__name__}: {exc}",
            where=str(planned.path),
            found=type(exc).__name__,
            hint="this is a bug in shipsign; run with -v for the traceback and report it",
        )
        return _result(planned, FileOutcome.FAILED, detail="internal error", error=error)


def _one(context: _Context, planned: PlannedFile, existing: Existing) -> FileResult:
    if planned.content is not None and read_if_exists(planned.path, len(planned.content)) != (
        planned.content
    ):
        _write(planned.path, planned.content, "the checksums file")
    if existing.other_signer is not None:
        error = InputError(
            f"{planned.path}: a valid bundle by another signer is already at "
            f"{planned.outputs.bundle}",
            where=str(planned.outputs.bundle),
            found=f"signed by {existing.other_signer}",
            expected="no bundle there, this run's own, or a stale one",
            hint="shipsign does not replace someone else's signature: write elsewhere with "
            "--bundle-dir, or pass --force to replace it",
        )
        return _result(planned, FileOutcome.FAILED, detail=error.what, error=error)
    outputs = _outputs(context, planned)
    if existing.valid and existing.bundle is not None:
        if context.legacy:
            _write_legacy_from(planned, existing.bundle)
        return _result(
            planned,
            FileOutcome.SKIPPED,
            outputs=outputs,
            log_index=existing.log_index,
            verified=True,
            detail="already signed by this identity for this content; --force signs again",
        )
    try:
        signed = context.session.sign_digest(bytes.fromhex(planned.sha256))
    except ShipsignError as exc:
        return _result(planned, FileOutcome.FAILED, detail=f"not signed: {exc.what}", error=exc)
    try:
        _write(planned.outputs.bundle, signed.bundle_json, "the bundle")
        if context.legacy:
            _write(planned.outputs.signature, base64.b64encode(signed.signature), "the signature")
            _write(planned.outputs.certificate, signed.certificate_pem.encode(), "the certificate")
        if context.verify_after:
            _read_back(context, planned)
    except ShipsignError as exc:
        return _result(
            planned,
            FileOutcome.FAILED,
            log_index=signed.log_index,
            detail=f"signed (Rekor log index {signed.log_index}), but {exc.what}",
            error=exc,
        )
    detail = ""
    if existing.bundle is not None:
        detail = f"replaced a bundle that did not count ({existing.why_not})"
    return _result(
        planned,
        FileOutcome.SIGNED,
        outputs=outputs,
        log_index=signed.log_index,
        verified=context.verify_after,
        detail=detail,
    )


def _outputs(context: _Context, planned: PlannedFile) -> tuple[Path, ...]:
    out = planned.outputs
    return (out.bundle, out.signature, out.certificate) if context.legacy else (out.bundle,)


def _read_back(context: _Context, planned: PlannedFile) -> None:
    """Read the bundle from disk and verify it as a consumer would, for our exact identity."""
    raw = read_if_exists(planned.outputs.bundle, 16 * 1024 * 1024)
    if raw is None:
        raise ShipsignError(
            "the bundle written cannot be read back", where=str(planned.outputs.bundle)
        )
    outcome = verify_bundle(
        raw,
        trust=context.session.material,
        policy=context.policy,
        digest=f"sha256:{planned.sha256}",
    )
    if not outcome.passed:
        first = outcome.failures[0]
        raise ShipsignError(
            "the bundle written did not verify when read back",
            where=str(planned.outputs.bundle),
            expected=first.expected,
            found=f"{first.check}: {first.found}",
        )


def _write_legacy_from(planned: PlannedFile, bundle: bytes) -> None:
    """The `.sig` and `.pem` of a bundle already there, when they are missing or differ."""
    parts = legacy_parts(bundle)
    if parts is None:
        raise ShipsignError(
            "cannot take the signature and certificate out of the existing bundle",
            where=str(planned.outputs.bundle),
        )
    for path, data, what in (
        (planned.outputs.signature, parts.signature_b64, "the signature"),
        (planned.outputs.certificate, parts.certificate_pem, "the certificate"),
    ):
        if read_if_exists(path, len(data)) != data:
            _write(path, data, what)


def _write(path: Path, data: bytes, what: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data)
    except OSError as exc:
        raise ShipsignError(
            f"cannot write {what}",
            where=str(path),
            expected="a file this user can write",
            found=exc.strerror or str(exc),
        ) from None


def _result(
    planned: PlannedFile,
    outcome: FileOutcome,
    *,
    outputs: tuple[Path, ...] = (),
    log_index: int | None = None,
    verified: bool = False,
    detail: str = "",
    error: ShipsignError | None = None,
) -> FileResult:
    return FileResult(
        path=planned.path,
        name=planned.name,
        sha256=planned.sha256,
        size=planned.size,
        outcome=outcome,
        bundle=planned.outputs.bundle if outcome is not FileOutcome.FAILED else None,
        outputs=outputs,
        checksums=planned.checksums,
        detail=detail,
        error=error,
        log_index=log_index,
        verified=verified,
    )
