"""The `trustagency` command: the API client, `trustagency up`, the embedded Redis."""
