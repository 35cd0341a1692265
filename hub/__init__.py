"""Publishing CTAM models on the Hugging Face Hub.

- :mod:`hub.prepare`: turn a trained model folder into the exact folder of its Hub repository and check it.
- :mod:`hub.card`: the model card (metadata, widget examples with real outputs, results, body) and its checks.
- :mod:`hub.push`: the command line (``python hub/push.py --model DIR --repo-id ID [--dry-run --output-dir OUT]``).
- ``hub/pipeline_ctam.py`` and ``hub/handler.py`` are templates copied flat into the Hub repository; they import
  ``.burmese`` from that folder and are not importable from here.

See ``docs/hub.md``.
"""
