"""`lipsync-tool batch`: many renders from a manifest, validated first, on a pool of loaded
Renderers; finished rows are logged as they end, so a run can be resumed."""
