"""Use case: the pull-request gate: every image a change deploys is signed by the right identity."""
