"""One run of one profile against one target: plan (--only/--skip, tier), preflight, reset, other systems,
run each requirement with its runner, append results as they finish, score, write reports; resume and rescore."""
