"""The wire format: recordings (the file), typed chunks and their bytes, the type map, SSE, NDJSON and
JSON array codecs, and the assembly of a recorded conversation for people to read (Gemini and Cohere in
their own modules)."""
