"""Publishing articles to WordPress sites (targets) through their REST API."""
