"""Model families: one package per family (processing | modeling | loading | backend), one registry entry each.

A family implements :class:`~jina_local.models.base.ModelBackend`; :mod:`.registry` maps a checkpoint to
its family. Adding a family means a new folder here and one :data:`~.registry.MODEL_SPECS` entry.
"""
