"""The test suite.

Set before anything imports the app: personal data is encrypted under this master key in every
test app, CLI run, server and migration the suite starts."""

import os

os.environ.setdefault("CLINIC_DATA_KEY", "dGVzdC1tYXN0ZXIta2V5LW9ubHktZm9yLXN1aXRlISE=")
