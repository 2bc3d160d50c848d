"""Every object `shipsign policy` writes validates against its engine's CRD schema, for every
engine, signature format, Sigstore instance and identity form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from shipsign.cli import main
from unit.policy.fixtures import IDENTITIES, crd_schema, private_trust_config

ENGINES = ["kyverno", "kyverno-clusterpolicy", "policy-controller", "flux", "connaisseur"]
FORMATS = ["both", "bundle", "legacy"]
INSTANCES = ["public", "staging", "private"]
# Kinds without a CRD here: a core Secret (Flux's trusted root) and Connaisseur's Helm values.
NO_CRD = {"Secret"}


def export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, *argv: str
) -> tuple[int, str, str]:
    config = tmp_path / ".shipsign.toml"
    config.write_text(text)
    capsys.readouterr()
    code = main(["policy", "--config", str(config), *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def instance_flags(instance: str, tmp_path: Path) -> list[str]:
    if instance == "staging":
        return ["--staging"]
    if instance == "private":
        return ["--trust-config", str(private_trust_config(tmp_path))]
    return []


@pytest.mark.parametrize("identity", sorted(IDENTITIES))
@pytest.mark.parametrize("instance", INSTANCES)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("engine", ENGINES)
def test_every_export_validates_against_its_crd(
    engine: str,
    fmt: str,
    instance: str,
    identity: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--engine", engine, "--format", fmt, *instance_flags(instance, tmp_path)]
    code, out, err = export(tmp_path, capsys, IDENTITIES[identity], *argv)
    if engine == "connaisseur" and fmt == "bundle":
        assert code == 2
        assert "Connaisseur cannot verify bundle-only signatures" in err
        return
    assert code == 0, err
    documents: list[dict[str, Any]] = [d for d in yaml.safe_load_all(out) if d is not None]
    assert documents
    kinds = []
    for doc in documents:
        if engine == "connaisseur":
            validators = doc["application"]["validators"]
            assert validators[0]["type"] == "cosign"
            assert all("keyless" in root for root in validators[0]["trustRoots"])
            assert ("host" in validators[0]) == (instance != "public")
            continue
        kinds.append(doc["kind"])
        if doc["kind"] in NO_CRD:
            assert "trusted_root.json" in doc["stringData"]
            continue
        version = doc["apiVersion"].rsplit("/", 1)[1]
        jsonschema.Draft7Validator(crd_schema(doc["kind"], version)).validate(doc)
    expected = {
        "kyverno": {"ImageValidatingPolicy"},
        "kyverno-clusterpolicy": {"ClusterPolicy"},
        "policy-controller": {"ClusterImagePolicy"}
        | ({"TrustRoot"} if instance != "public" else set()),
        "flux": {"OCIRepository"} | ({"Secret"} if instance != "public" else set()),
        "connaisseur": set(),
    }[engine]
    assert set(kinds) == expected


def test_the_schema_check_can_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelt field is refused by the CRD schema, so the test above is not vacuous."""
    code, out, _ = export(tmp_path, capsys, IDENTITIES["exact"], "--engine", "policy-controller")
    assert code == 0
    doc = next(yaml.safe_load_all(out))
    doc["spec"]["authorities"][0]["keyless"]["identities"][0]["subjectRegexp"] = "x"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(crd_schema("ClusterImagePolicy", "v1beta1")).validate(doc)


def test_clusterpolicy_types_follow_the_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    types = {}
    for fmt in FORMATS:
        code, out, _ = export(
            tmp_path,
            capsys,
            IDENTITIES["exact"],
            "--engine",
            "kyverno-clusterpolicy",
            "--format",
            fmt,
        )
        assert code == 0
        assert "deprecated since Kyverno 1.17" in out
        doc = next(yaml.safe_load_all(out))
        entries = doc["spec"]["rules"][0]["verifyImages"]
        types[fmt] = [e["type"] for e in entries]
        for entry in entries:
            for attestor in entry["attestors"]:
                for item in attestor["entries"]:
                    assert item["keyless"]["rekor"]["url"] == "https://rekor.sigstore.dev"
    assert types == {
        "both": ["Cosign", "SigstoreBundle"],
        "bundle": ["SigstoreBundle"],
        "legacy": ["Cosign"],
    }


def test_private_instance_exports_custom_roots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = instance_flags("private", tmp_path)
    _, out, _ = export(tmp_path, capsys, IDENTITIES["exact"], "--engine", "kyverno", *flags)
    attestor = next(yaml.safe_load_all(out))["spec"]["attestors"][0]["cosign"]
    assert attestor["keyless"]["roots"].startswith("-----BEGIN CERTIFICATE-----")
    assert attestor["ctlog"]["url"] == "https://rekor.sigstore.example"
    assert attestor["ctlog"]["rekorPubKey"].startswith("-----BEGIN PUBLIC KEY-----")
    assert attestor["ctlog"]["ctLogPubKey"].startswith("-----BEGIN PUBLIC KEY-----")
    _, out, _ = export(
        tmp_path, capsys, IDENTITIES["exact"], "--engine", "policy-controller", *flags
    )
    root, cip = list(yaml.safe_load_all(out))
    assert root["kind"] == "TrustRoot"
    authority = cip["spec"]["authorities"][0]
    assert authority["keyless"]["trustRootRef"] == root["metadata"]["name"]
    assert authority["keyless"]["url"] == "https://fulcio.sigstore.example"
    assert "policy.sigstore.dev/include=true" in out
    _, out, _ = export(tmp_path, capsys, IDENTITIES["exact"], "--engine", "flux", *flags)
    secret, repo, _ = list(yaml.safe_load_all(out))
    assert repo["spec"]["verify"]["trustedRootSecretRef"] == {"name": secret["metadata"]["name"]}
    assert "Flux 2.9" in out
