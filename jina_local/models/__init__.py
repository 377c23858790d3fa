"""Model families. One file per family; each implements :class:`~jina_local.models.base.ModelBackend`."""
