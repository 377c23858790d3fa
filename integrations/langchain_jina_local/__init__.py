"""LangChain integration of jina-local (placeholder; filled in by the integrations work)."""

__all__: list[str] = []
