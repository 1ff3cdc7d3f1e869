"""opsbook: runbooks that run.

The public Python API is exactly what ``__all__`` lists; everything else is internal and
may change without notice.
"""

from opsbook.errors import ConfigError, OpsbookError
from opsbook.status import Status

__version__ = "0.1.0"

__all__ = ["ConfigError", "OpsbookError", "Status", "__version__"]
