# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""The two-stage transfer recipe (method.md section 3; docs/transfer.md): a trained English teacher, then the student
against it.

One concept per module:

- :mod:`.arguments`: the recipe's arguments ([`TransferArguments`]) and the data of one run ([`TransferData`]);
- :mod:`.recipe`: the two stages, resumable ([`run_two_stage`]);
- :mod:`.teacher`: the frozen teacher's posteriors and BiGRU states, computed once;
- :mod:`.prior`: the target class prior (EM, BBSE, the prior-matching bias);
- :mod:`.pseudo_label`: pseudo-labels under the prior's class quotas;
- :mod:`.streams`: the stage-2 items (English, parallel, unlabelled and labelled Burmese streams) and their collators.

Submodules are imported on use (``from modeling_ctam.transfer.recipe import run_two_stage``).
"""
