"""What ``MultiVectorCollection.index_files`` did: :class:`IndexSummary` and its :class:`FileIssue` entries."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["FileIssue", "IndexSummary"]


@dataclass(frozen=True)
class FileIssue:
    """A file (or root) and what happened to it.

    ``unreadable``: the file is a document that could not be opened (a corrupt or encrypted PDF,
    :class:`~jina_local.errors.UnreadableDocumentError`), as opposed to a file that is not a document.
    """

    path: str
    reason: str
    unreadable: bool = False


@dataclass
class IndexSummary:
    """What ``index_files`` did. Paths are resolved and absolute.

    ``indexed``: files (re)embedded and now complete; ``unchanged``: files already complete;
    ``skipped``: files not indexed, with the reason; ``failed``: files (or roots) that went wrong and are
    retried next run; ``warnings``: losses inside indexed files (an unreadable PDF page); ``pruned``: files
    whose chunks ``prune=True`` removed. ``hidden_files`` / ``ignored_files``: files the walk passed over as
    hidden / ignored, each file inside a hidden or ignored folder included (``Walk.hidden_files``);
    ``hidden`` / ``ignored`` read the same counts.
    """

    indexed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[FileIssue] = field(default_factory=list)
    failed: list[FileIssue] = field(default_factory=list)
    warnings: list[FileIssue] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    chunks_added: int = 0
    chunks_deleted: int = 0
    hidden_files: int = 0
    ignored_files: int = 0

    @property
    def hidden(self) -> int:
        """``hidden_files``."""
        return self.hidden_files

    @property
    def ignored(self) -> int:
        """``ignored_files``."""
        return self.ignored_files

    @property
    def ok(self) -> bool:
        """Whether nothing failed."""
        return not self.failed
