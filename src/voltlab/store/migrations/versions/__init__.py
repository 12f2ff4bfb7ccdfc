"""The revisions, one module each, named `v<revision>_<slug>.py`; revision ids count up
(`0001`, `0002`, ...) so that the files sort in the order they run."""
