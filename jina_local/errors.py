"""Exceptions raised by jina-local.

Every message says what was wrong and how to fix it. The tree::

    JinaLocalError
    ├── ModelNotFoundError        files of a model are not on disk and cannot be fetched
    ├── CheckpointError           files are there but do not match the published layout
    ├── UnsupportedModelError     a checkpoint of a family jina-local does not know
    ├── InputError (ValueError)   an item passed to encode() cannot be used
    │   ├── DocumentError         a file cannot be read as a document (not text, empty, too large)
    │   │   └── UnreadableDocumentError  a document that cannot be opened: a corrupt or encrypted PDF
    │   └── FetchError            a URL item could not be downloaded (network, timeout, size, type)
    │       └── URLNotAllowedError   the FetchPolicy refused the URL before connecting
    ├── OptionError (ValueError)  an option value is out of range or of the wrong kind
    │   └── ArgumentError (TypeError)  an argument of the wrong type, or one the call does not take
    ├── TaskError (ValueError)    unknown task / adapter, or one the model does not have
    ├── DimensionError (ValueError)  a Matryoshka dim the model does not allow
    ├── OutputError (ValueError)  an output kind the model cannot produce
    ├── EncodingError             an item was read and prepared, but its forward failed
    ├── FilterError (ValueError)  a search filter jina-local cannot translate or the engine cannot run
    ├── CollectionLockedError     an index folder is open in another process (single writer)
    ├── CollectionConfigError     a Qdrant collection does not match the model or the request
    ├── StoreConnectionError (ConnectionError)  a Qdrant server cannot be reached or refuses the API key
    └── NotPicklableError (TypeError)  an object that lives only in this process was pickled
"""

from __future__ import annotations

__all__ = [
    "ArgumentError",
    "CheckpointError",
    "CollectionConfigError",
    "CollectionLockedError",
    "DimensionError",
    "DocumentError",
    "EncodingError",
    "FetchError",
    "FilterError",
    "InputError",
    "JinaLocalError",
    "ModelNotFoundError",
    "NotPicklableError",
    "OptionError",
    "OutputError",
    "StoreConnectionError",
    "TaskError",
    "URLNotAllowedError",
    "UnreadableDocumentError",
    "UnsupportedModelError",
]


class JinaLocalError(Exception):
    """Base class of every error jina-local raises on purpose."""


class ModelNotFoundError(JinaLocalError, FileNotFoundError):
    """The files of a model are neither in a folder, nor in the local Hugging Face cache, nor fetchable."""


class CheckpointError(JinaLocalError):
    """A checkpoint was found but its files do not match the published layout."""


class UnsupportedModelError(JinaLocalError):
    """The checkpoint belongs to a model family jina-local does not implement."""


class InputError(JinaLocalError, ValueError):
    """An item given to ``encode`` is of an unsupported type or cannot be read."""


class DocumentError(InputError):
    """A file cannot be read as a document: not text, a corrupt or encrypted PDF, unreadable, too large."""


class UnreadableDocumentError(DocumentError):
    """A file that is a document (a PDF) but cannot be opened: it is corrupt or encrypted.

    Unlike a binary or empty file, which is simply not a document, this is a file the user meant to
    index; ``jina-local index`` exits with 2 when it meets one.
    """


class FetchError(InputError):
    """A URL item could not be downloaded: network failure, timeout, HTTP status, size or content type.

    ``index`` is the item's position and ``url`` the URL that failed (the last redirect hop, with
    any ``user:password@`` removed).
    """

    def __init__(self, message: str, *, index: int | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.index = index
        self.url = url

    def __reduce__(self):  # keep index and url across pickling (process pools, Ray)
        return (_rebuild_fetch_error, (type(self), str(self), self.index, self.url))


class URLNotAllowedError(FetchError):
    """The :class:`~jina_local.FetchPolicy` refused a URL before any connection was made.

    URL fetching is switched off, the scheme is not http(s), or the host resolves to a private,
    loopback, link-local, multicast, reserved or unspecified address.
    """


def _rebuild_fetch_error(cls: type, message: str, index: int | None, url: str | None) -> FetchError:
    return cls(message, index=index, url=url)


class OptionError(JinaLocalError, ValueError):
    """An option (a keyword argument or a policy field) has a value that is out of range or of the wrong kind."""


class ArgumentError(OptionError, TypeError):
    """An argument of the wrong type, or a keyword argument the call does not take.

    A ``TypeError`` too, as Python's own errors for such calls are; the message names what is accepted.
    """


class TaskError(JinaLocalError, ValueError):
    """The requested task (LoRA adapter) does not exist for this model."""


class DimensionError(JinaLocalError, ValueError):
    """The requested Matryoshka dimension is not one the model was trained for."""


class OutputError(JinaLocalError, ValueError):
    """The requested output (dense / multi) is not produced by this model."""


class EncodingError(JinaLocalError):
    """An item was read and prepared but its forward failed (out of memory even alone, or a model error)."""


class FilterError(JinaLocalError, ValueError):
    """A filter has a shape or operator that cannot be translated to Qdrant, or that the engine lacks."""


class CollectionLockedError(JinaLocalError):
    """A folder index is already open in another process (or another open collection of this one)."""


class CollectionConfigError(JinaLocalError):
    """An existing Qdrant collection does not match what was asked for; no data was touched."""


class StoreConnectionError(JinaLocalError, ConnectionError):
    """A Qdrant server or cluster cannot be reached (refused, DNS, timeout, TLS) or refuses the API key.

    ``url`` is the server's address as given to ``MultiVectorCollection.open``.
    """

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url

    def __reduce__(self):  # keep url across pickling
        return (_rebuild_store_error, (type(self), str(self), self.url))


def _rebuild_store_error(cls: type, message: str, url: str | None) -> StoreConnectionError:
    return cls(message, url=url)


class NotPicklableError(JinaLocalError, TypeError):
    """An object was pickled that only exists in this process (a ``:memory:`` collection, a given client).

    A ``TypeError``, as Python's own "cannot pickle" errors are; the message says how to make it picklable.
    """
