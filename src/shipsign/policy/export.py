"""`shipsign policy`: the same identity policy, written for each engine that enforces it.

What every engine gets alike: one identity per attestor, authority or matcher (cosign v3's
bundle path refuses more than one, so several allowed signers become several ORed
attestors); anchored, dot-escaped, RE2-valid regexes (every engine matches unanchored);
image patterns `REPO:*` and `REPO@*` in the engine's own spelling of Docker Hub. Claims an
engine cannot check are named in the output's comments, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable

from shipsign.policy import export_cli, export_engines
from shipsign.policy.export_model import (
    Engine,
    ExportGroup,
    ExportRequest,
    Output,
    groups_from_config,
    groups_from_flags,
)
from shipsign.policy.yaml_text import dump_documents

__all__ = [
    "Engine",
    "ExportGroup",
    "ExportRequest",
    "export_policy",
    "groups_from_config",
    "groups_from_flags",
]

_WRITERS: dict[Engine, Callable[[ExportRequest], Output]] = {
    Engine.KYVERNO: export_engines.kyverno_ivp,
    Engine.KYVERNO_CLUSTERPOLICY: export_engines.kyverno_clusterpolicy,
    Engine.POLICY_CONTROLLER: export_engines.policy_controller,
    Engine.FLUX: export_engines.flux,
    Engine.CONNAISSEUR: export_engines.connaisseur,
    Engine.COSIGN: export_cli.cosign,
    Engine.GH: export_cli.gh,
}


def export_policy(request: ExportRequest) -> str:
    """The engine's configuration for `request`: YAML documents, or a shell script.

    Raises InputError when the engine cannot express the policy (e.g. Connaisseur and
    bundle-only signatures, Flux and a repository glob).
    """
    out = _WRITERS[request.engine](request)
    return out.text if out.text is not None else dump_documents(out.documents)
