"""The leaf layer: small helpers every app may import. Nothing here imports an app of ours."""
