"""Runs trained by other tools, imported into rlbench's results as verified run sets.

:mod:`rlbench.importers.sources` reads the files other tools write (Stable-Baselines3's ``monitor.csv`` and
``evaluations.npz``, TensorBoard event files, plain CSV) into return tables; :mod:`rlbench.importers.runs` writes
them as verified runs with their protocol (:class:`~rlbench.importers.runs.ImportProtocol`), reads them back as a
``(runs x tasks)`` score matrix, and refuses (or marks) a comparison of run sets measured under different protocols.
"""
