"""One module per flow family of the station machine."""
