# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Publishing CTAM models on the Hugging Face Hub.

- :mod:`.record`: what a trained folder says about its training (``train_config.json``, the metrics record);
- :mod:`.card`: the model card (metadata, widget examples with real outputs, results, body) and its checks;
- :mod:`.prepare`: turn a trained model folder into the exact folder of its Hub repository and check it;
- :mod:`.push`: the command line, ``python -m modeling_ctam.hub.push --model DIR --repo-id ID [--dry-run
  --output-dir OUT]`` (also ``python hub/push.py`` from a checkout);
- :mod:`.demo` and :mod:`.space`: what the demo Space (``hub/space/app.py``) computes and shows, and the Space folder
  ``--space-dir`` writes;
- ``isolated_check.py``: run by path in a fresh process to load a built folder as a Hub user does;
- ``templates/``: ``pipeline_ctam.py`` and ``handler.py``, copied into the Hub repository, and the card template with
  its BibTeX (``citations.bib``); package data, not an importable package (the two Python files import ``.burmese``
  from the flat Hub folder).

See ``docs/hub.md``.
"""
