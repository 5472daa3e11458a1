"""bizenv: enterprises evaluate the government."""

import os
import sys

# Arrow's default allocator (mimalloc) keeps freed memory for reuse: a million-row load then
# stays at its high-water mark through the write, 2.1 GiB where the system allocator, which
# hands large blocks back, peaks at 1.8 GiB at the same speed. An explicit
# ARROW_DEFAULT_MEMORY_POOL wins; pyarrow is not imported here (DAG files import this package).
if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
    os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"
    if (pyarrow := sys.modules.get("pyarrow")) is not None:
        pyarrow.set_memory_pool(pyarrow.system_memory_pool())
