"""The wire format: recordings (the file), typed chunks and their bytes, the type map, SSE and NDJSON
codecs, and the assembly of a recorded conversation for people to read."""
