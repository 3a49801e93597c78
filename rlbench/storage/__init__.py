"""Where results live: the run store (``run_store``), its file schema (``schema``), the one atomic
writer (``files``), resume checkpoints (``checkpoints``) and provenance (``provenance``)."""
