"""The dashboard: a browser UI served at `/` (docs/dashboard.md).

Static files only (`static/`): `index.html`, the UI's ES modules in `static/app/`, and the
third-party libraries vendored by `scripts/vendor-web` in `static/vendor/`. The UI is a client
of the Gateway API and its live channel; nothing here reads the database. `assets.py` mounts
the files on the app."""
