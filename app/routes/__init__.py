"""The plan's route module paths, re-exporting the domain routers."""
