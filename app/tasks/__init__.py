"""The plan's task module paths, re-exporting the domain packages' tasks."""
