"""The generation manifest (SPEC §3), JSONL in and out.

- `parse`: one line → a validated record or a per-line error; every decoding and validation
  rule, pure Python.
- `report`: what an import did, with every refused line and its reason.
- `importer`: the writer (COPY + set-based SQL on PostgreSQL, the ORM on SQLite).
- `export`: a project as a manifest, the same format the importer reads.

The service entry points are in generations.services.manifest."""
