# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Helpers every concept folder shares; none of them is part of the model.

- :mod:`.paths`: where the shared data and the caches are (``CTAM_DATA_DIR``, ``CTAM_CACHE_DIR``), the Hub-id pattern
  and the file checksum;
- :mod:`.deprecation`: the old import paths of the package (``modeling_ctam.trainer``, ``python -m
  modeling_ctam.align``, ...), kept working with a warning until they are removed.
"""
