"""A local stand-in for the parts of GitHub's and GitLab's REST APIs opsbot uses (server.py)."""
