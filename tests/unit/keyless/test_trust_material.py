"""Trust material read from a trusted_root.json, or from sigstore's TrustedRoot object."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from sigstore.models import TrustedRoot

from interop.corpus import PRODUCTION_ROOT, STAGING_ROOT
from shipsign.errors import InputError
from shipsign.keyless.trust_material import load_trust_material, parse_rfc3339

REKOR_V1 = "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"


def test_production_root_from_a_path_and_from_a_trusted_root_agree() -> None:
    from_path = load_trust_material(PRODUCTION_ROOT)
    from_object = load_trust_material(TrustedRoot.from_file(str(PRODUCTION_ROOT)))
    assert [k.key_id for k in from_path.rekor_logs] == [k.key_id for k in from_object.rekor_logs]
    assert [ca.validity for ca in from_path.fulcio] == [ca.validity for ca in from_object.fulcio]
    assert len(from_path.fulcio) == 2
    assert len(from_path.ct_logs) == 2
    assert load_trust_material(from_path) is from_path


def test_rekor_and_ct_keys_are_found_by_id_with_their_validity() -> None:
    trust = load_trust_material(PRODUCTION_ROOT)
    rekor = trust.rekor_key(REKOR_V1.upper())
    assert rekor is not None
    assert rekor.name == "https://rekor.sigstore.dev"
    assert rekor.validity.covers(datetime(2023, 1, 1, tzinfo=timezone.utc))
    assert not rekor.validity.covers(datetime(2020, 1, 1, tzinfo=timezone.utc))
    assert trust.rekor_key("00" * 32) is None
    first_ct = trust.ct_logs[0]
    assert trust.ct_key(first_ct.key_id) is first_ct
    assert first_ct.validity.end == datetime(2022, 10, 31, 23, 59, 59, 999000, tzinfo=timezone.utc)


def test_staging_root_keeps_the_keys_it_can_load() -> None:
    trust = load_trust_material(STAGING_ROOT)
    assert trust.fulcio
    assert trust.rekor_logs
    assert trust.ct_logs


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b'{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","certificateAuthorities":[{"certChain":{"certificates":[{"rawBytes":"AAAA"}]}}]}',
    ],
)
def test_a_broken_trusted_root_is_an_input_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "trusted_root.json"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        load_trust_material(path)
    assert info.value.where == str(path)


def test_a_missing_trusted_root_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_trust_material(tmp_path / "nope.json")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-01-12T11:53:27Z", datetime(2021, 1, 12, 11, 53, 27, tzinfo=timezone.utc)),
        (
            "2022-12-31T23:59:59.999Z",
            datetime(2022, 12, 31, 23, 59, 59, 999000, tzinfo=timezone.utc),
        ),
        (
            "2022-12-31T23:59:59.123456789+00:00",
            datetime(2022, 12, 31, 23, 59, 59, 123456, tzinfo=timezone.utc),
        ),
        ("2022-01-01T02:00:00+02:00", datetime(2022, 1, 1, tzinfo=timezone.utc)),
    ],
)
def test_rfc3339(text: str, expected: datetime) -> None:
    assert parse_rfc3339(text) == expected
