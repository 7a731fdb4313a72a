"""The logic: routes and tasks are thin adapters over these modules."""
