"""Image references parse and normalise as Docker/cosign do; bad ones say what is wrong."""

from __future__ import annotations

import contextlib
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipsign.errors import InputError
from shipsign.oci.reference import DOCKER_HUB, Digest, Reference, Repository, api_host

HEX = "a" * 64
SHA = f"sha256:{HEX}"


@pytest.mark.parametrize(
    ("text", "name", "identifier"),
    [
        ("alpine", "index.docker.io/library/alpine", "latest"),
        ("alpine:3.20", "index.docker.io/library/alpine", "3.20"),
        ("docker.io/library/alpine", "index.docker.io/library/alpine", "latest"),
        ("docker.io/alpine", "index.docker.io/library/alpine", "latest"),
        ("index.docker.io/x/y", "index.docker.io/x/y", "latest"),
        ("registry-1.docker.io/x/y:t", "index.docker.io/x/y", "t"),
        ("DOCKER.IO/x/y", "index.docker.io/x/y", "latest"),
        ("x/y", "index.docker.io/x/y", "latest"),
        ("ghcr.io/acme/app:v1", "ghcr.io/acme/app", "v1"),
        ("ghcr.io/acme/team/app", "ghcr.io/acme/team/app", "latest"),
        ("localhost/app", "localhost/app", "latest"),
        ("localhost:5000/app:dev", "localhost:5000/app", "dev"),
        ("127.0.0.1:5000/a/b", "127.0.0.1:5000/a/b", "latest"),
        ("[::1]:5000/a", "[::1]:5000/a", "latest"),
        ("Foo/bar", "Foo/bar", "latest"),  # upper case marks a registry, as in Docker
        (f"ghcr.io/acme/app@{SHA}", "ghcr.io/acme/app", SHA),
        (f"ghcr.io/acme/app:v1@{SHA}", "ghcr.io/acme/app", SHA),  # the digest wins
        ("a/b__c.d-e---f", "index.docker.io/a/b__c.d-e---f", "latest"),
    ],
)
def test_parse_normalises_like_docker(text: str, name: str, identifier: str) -> None:
    ref = Reference.parse(text)
    assert ref.repository.name == name
    assert ref.identifier == identifier


def test_docker_hub_aliases_are_one_repository() -> None:
    forms = ["alpine", "docker.io/library/alpine", "index.docker.io/library/alpine"]
    forms.append("registry-1.docker.io/library/alpine")
    assert {Reference.parse(f).repository for f in forms} == {
        Repository(DOCKER_HUB, "library/alpine")
    }
    assert api_host(DOCKER_HUB) == "registry-1.docker.io"
    assert api_host("ghcr.io") == "ghcr.io"


def test_tag_and_digest_keeps_both_but_digest_identifies() -> None:
    ref = Reference.parse(f"ghcr.io/a/b:v1@{SHA}")
    assert ref.tag == "v1"
    assert ref.digest == Digest("sha256", HEX)
    assert str(ref) == f"ghcr.io/a/b:v1@{SHA}"
    assert str(ref.with_digest(Digest.parse(SHA))) == f"ghcr.io/a/b@{SHA}"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        (" alpine", "whitespace"),
        ("ghcr.io/Acme/app", "lowercase"),
        ("ghcr.io/acme/app:", "bad tag"),
        ("ghcr.io/acme/app:-x", "bad tag"),
        ("ghcr.io/acme/app:" + "t" * 129, "bad tag"),
        ("ghcr.io/acme//app", "bad repository path"),
        ("ghcr.io/acme/app-", "bad repository path"),
        ("ghcr.io/", "path is empty"),
        ("ghcr.io/a@sha256:abc", "needs 64 hex digits, got 3"),
        (f"ghcr.io/a@sha256:{'A' * 64}", "lower-case"),
        (f"ghcr.io/a@sha256:{'g' * 64}", "lower-case"),
        (f"ghcr.io/a@md5:{HEX}", "unsupported algorithm"),
        ("ghcr.io/a@" + HEX, "missing ':'"),
        ("host:99999/a", "out of range"),
        ("ho_st:5000/a", "bad registry host"),
        ("example.com/" + "a" * 250, "longer than 255"),
    ],
)
def test_invalid_references_quote_the_input_and_say_why(text: str, says: str) -> None:
    with pytest.raises(InputError) as info:
        Reference.parse(text)
    assert repr(text) in info.value.what
    assert says in info.value.what


def test_digest_helpers() -> None:
    data = b"hello"
    digest = Digest.of(data)
    assert str(digest) == "sha256:" + hashlib.sha256(data).hexdigest()
    assert digest.matches(data)
    assert not digest.matches(b"hellO")
    assert digest.tag_form == "sha256-" + hashlib.sha256(data).hexdigest()
    assert Digest.parse(str(Digest.of(data, "sha512"))).algorithm == "sha512"


def test_repository_parse_refuses_tags() -> None:
    assert Repository.parse("ghcr.io/a/b").name == "ghcr.io/a/b"
    with pytest.raises(InputError, match="must not carry a tag"):
        Repository.parse("ghcr.io/a/b:v1")


# --------------------------------------------------------------------------- properties

_component = st.from_regex(r"[a-z0-9]{1,6}(?:(?:[._]|__|-{1,2})[a-z0-9]{1,6}){0,2}", fullmatch=True)
_paths = st.lists(_component, min_size=1, max_size=4).map("/".join)
_hosts = st.one_of(
    st.sampled_from(["ghcr.io", "index.docker.io", "localhost", "quay.io", "Example.COM"]),
    st.builds(
        "{}:{}".format,
        st.from_regex(r"[a-z][a-z0-9]{0,8}(?:\.[a-z0-9]{1,8}){0,2}", fullmatch=True),
        st.integers(1, 65535),
    ),
)
_tags = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
_digests = st.builds(Digest, st.just("sha256"), st.from_regex(r"[0-9a-f]{64}", fullmatch=True))


@st.composite
def _references(draw: st.DrawFn) -> Reference:
    host, path = draw(_hosts), draw(_paths)
    if host == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    return Reference(
        repository=Repository(host, path),
        tag=draw(st.none() | _tags),
        digest=draw(st.none() | _digests),
    )


@given(_references())
def test_round_trip(ref: Reference) -> None:
    assert Reference.parse(str(ref)) == ref


@given(st.text(max_size=300))
def test_hostile_text_raises_only_input_error(text: str) -> None:
    try:
        ref = Reference.parse(text)
    except InputError:
        return
    assert Reference.parse(str(ref)) == ref  # whatever parses is stable


@given(st.text(alphabet="abcAB09:/@.-_[]sha256", max_size=80))
def test_near_miss_text_raises_only_input_error(text: str) -> None:
    with contextlib.suppress(InputError):
        Reference.parse(text)
