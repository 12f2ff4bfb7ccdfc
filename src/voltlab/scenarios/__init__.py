"""Scenarios (issue 12): declarative test runs against a CSMS under test, their built-in
library, the runner that drives the Gateway API, and the verdicts (JUnit XML, Markdown)."""
