# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""The VXLM alignment (eq. 1-2 over corpora): static word vectors of both languages and the VecMap mapping between
them, learnt before training and loaded into the model with ``CTAMModel.load_alignment``.

One concept per module:

- :mod:`.static_vectors`: corpus-level static word vectors from any encoder (eq. 1 averaged over a corpus);
- :mod:`.retrieval`: blocked similarity search (CSLS, retrieval, dictionary induction);
- :mod:`.vecmap`: the self-learning VecMap loop (eq. 2: Procrustes, whitening) on two matrices;
- :mod:`.lexicon`: bilingual dictionaries (readers, seeds, the Burmese BLI split; ``python -m
  modeling_ctam.alignment.lexicon``);
- :mod:`.bli`: bilingual lexicon induction scores;
- :mod:`.mapping`: ``mapping.safetensors`` on disk (read through :func:`modeling_ctam.vxlm.load_mapping_file`);
- :mod:`.cli`: the command line ``python -m modeling_ctam.alignment`` (``__main__.py``), and the in-process
  :func:`~.cli.run_alignment` / :func:`~.cli.main`.

Submodules are imported on use (``from modeling_ctam.alignment.cli import run_alignment``), so that importing the
package costs nothing.
"""
