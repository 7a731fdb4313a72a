"""The editor's page: static HTML, CSS and JavaScript served by the API."""
