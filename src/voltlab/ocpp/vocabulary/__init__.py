"""The OCPP vocabulary both sides of the wire share: stop reasons, authorization answers,
connector statuses and error codes, timestamps; each with its 1.6 and 2.x spellings.

The simulated stations (`fleet`) encode with these tables and the built-in CSMS (`csms`)
decodes with the same ones, so the two agree by construction. Import the modules directly;
this package re-exports nothing."""
