"""Virtual charging stations, in layers that import only downwards: hosting > driver > codecs >
machine > model (docs/architecture.md, docs/station-machine.md)."""
