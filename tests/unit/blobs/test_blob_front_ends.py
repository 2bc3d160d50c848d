"""The front ends for files: the CLI's options, the Action's inputs, the report's text, JSON and
Markdown, the Action's outputs, and the exit code a failed file gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipsign.action.build import build_file_options, build_sign_request
from shipsign.action.inputs import env_name, parse_inputs
from shipsign.action.outputs import sign_annotations, sign_outputs
from shipsign.blobs import FileOutcome, FileResult
from shipsign.cli.parser import build_parser
from shipsign.errors import InputError, InternalError, ShipsignError, UnreachableError
from shipsign.oci.credentials import StaticKeychain
from shipsign.present.exitcodes import report_code
from shipsign.present.sign import sign_json, sign_markdown, sign_text
from shipsign.secret import Secret
from shipsign.sign import SignReport

ID = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3"
ISSUER = "https://token.actions.githubusercontent.com"
WORKSPACE = Path("/github/workspace")


def file_result(name: str, outcome: FileOutcome, **extra: object) -> FileResult:
    path = WORKSPACE / "dist" / name
    bundle = None if outcome is FileOutcome.FAILED else Path(f"{path}.sigstore.json")
    defaults: dict[str, object] = {
        "path": path,
        "name": name,
        "sha256": "ab" * 32,
        "size": 10,
        "outcome": outcome,
        "bundle": bundle,
        "outputs": (bundle,) if bundle else (),
        "log_index": None if outcome is FileOutcome.FAILED else 12,
        "verified": outcome is FileOutcome.SIGNED,
    }
    defaults.update(extra)
    return FileResult(**defaults)  # type: ignore[arg-type]


def report(*files: FileResult, public: bool = False) -> SignReport:
    return SignReport(
        images=(),
        results=(),
        identity=ID,
        issuer=ISSUER,
        trust_source="Sigstore production",
        public_log=public,
        verified=True,
        files=files,
    )


def test_files_only_report_text_json_markdown() -> None:
    done = report(
        file_result("app.tar.gz", FileOutcome.SIGNED),
        file_result("notes.txt", FileOutcome.SKIPPED, detail="already signed by this identity"),
        file_result("SHA256SUMS", FileOutcome.SIGNED, checksums=True),
        public=True,
    )
    assert done.ok
    assert done.signed
    text = sign_text(done)
    assert "Images (" not in text  # a run with files alone says nothing about images
    assert "/github/workspace/dist/app.tar.gz.sigstore.json" in text
    assert "SHA256SUMS (checksums)" in text
    assert "notes.txt: already signed by this identity" in text
    assert "https://search.sigstore.dev/?logIndex=12" in text
    assert text.rstrip().endswith("✔ 3 files: 2 signed, 1 already signed; all verified")
    doc = sign_json(done)
    assert [f["outcome"] for f in doc["files"]] == ["signed", "skipped", "signed"]
    assert doc["files"][2]["checksums"] is True
    assert doc["files"][1]["verified"] is True
    assert doc["files"][0]["bundle"] == "/github/workspace/dist/app.tar.gz.sigstore.json"
    json.dumps(doc)
    markdown = sign_markdown(done)
    assert "| image |" not in markdown
    assert "| `/github/workspace/dist/notes.txt` | `abababababab` | ✔ already |" in markdown
    assert report_code(done) == 0


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ShipsignError("cannot write the bundle"), 1),
        (UnreachableError("Rekor refused the request"), 3),
        (InternalError("a bug"), 4),
    ],
)
def test_a_failed_file_gives_the_exit_code_an_image_would(error: ShipsignError, code: int) -> None:
    failed = report(
        file_result("app.tar.gz", FileOutcome.SIGNED),
        file_result("bad.tar.gz", FileOutcome.FAILED, error=error, detail=error.what),
    )
    assert not failed.ok
    assert report_code(failed, internal=failed.any_internal) == code
    text = sign_text(failed)
    assert "Not signed or not verified:" in text
    assert f"✘ /github/workspace/dist/bad.tar.gz: failed: {error.what}" in text
    assert "1 not signed" in text.splitlines()[-1]
    [annotation] = sign_annotations(failed)
    assert annotation[0] == "shipsign: file not signed"
    assert "bad.tar.gz" in annotation[1]


def test_action_outputs_list_bundles_relative_to_the_workspace() -> None:
    done = report(
        file_result("app.tar.gz", FileOutcome.SIGNED),
        file_result("bad.tar.gz", FileOutcome.FAILED, error=ShipsignError("x")),
        file_result("SHA256SUMS", FileOutcome.SKIPPED, checksums=True, log_index=7),
    )
    outputs = sign_outputs(done, sign_json(done), workspace=WORKSPACE)
    assert outputs["bundles"] == "dist/app.tar.gz.sigstore.json\ndist/SHA256SUMS.sigstore.json"
    assert outputs["rekor-log-indexes"] == "12\n7"
    assert outputs["ok-count"] == "2"
    assert outputs["failed-count"] == "1"
    assert outputs["verified"] == "false"


def env(**inputs: str) -> dict[str, str]:
    return {env_name(k): v for k, v in inputs.items()}


def test_action_inputs_files_and_checksums() -> None:
    inputs = parse_inputs(
        env(command="sign", files="dist/*.tar.gz\n\n# a comment\ndist/a, b.txt\n", checksums="S")
    )
    assert inputs.files == ("dist/*.tar.gz", "dist/a, b.txt")  # one per line: commas kept
    assert inputs.checksums == "S"
    options = build_file_options(inputs, WORKSPACE)
    assert options is not None
    assert options.root == WORKSPACE
    assert options.patterns == inputs.files
    assert options.checksums == "S"
    request = build_sign_request(
        inputs, lambda: Secret("t"), StaticKeychain({}), workspace=WORKSPACE
    )
    assert request.files == options
    assert request.images == ()
    none = parse_inputs(env(command="sign", images="r.example/a@sha256:" + "0" * 64))
    assert build_file_options(none, WORKSPACE) is None
    with pytest.raises(InputError, match="for `command: sign`"):
        parse_inputs(env(command="verify", files="dist/*"))
    with pytest.raises(InputError, match="needs files to list"):
        build_file_options(parse_inputs(env(command="sign", checksums="S")), WORKSPACE)


def test_cli_options() -> None:
    parser = build_parser()
    args = parser.parse_args(
        ["sign", "--file", "dist/*", "--file", "x", "--checksums", "S", "--bundle-dir", "o",
         "--legacy-blob-outputs", "img"]
    )  # fmt: skip
    assert args.files == ["dist/*", "x"]
    assert args.images == ["img"]
    assert (args.checksums, args.bundle_dir, args.legacy_blob_outputs) == ("S", "o", True)
    blob = parser.parse_args(["sign-blob", "a", "b/*", "--force", "--no-verify"])
    assert blob.handler == "sign_blob"
    assert blob.files == ["a", "b/*"]
    assert blob.force
    assert blob.no_verify
    verify = parser.parse_args(
        ["verify-blob", "--checksums", "SUMS", "--bundle", "SUMS.sigstore.json", "a", "b"]
    )
    assert verify.files == ["a", "b"]
    assert verify.checksums == "SUMS"
