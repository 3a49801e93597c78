"""Running a suite's runs: the launcher (``launcher``), one attempt in a worker (``worker``), the check of a resume
checkpoint's records before a run resumes from it (``checkpoint_check``), and the backends ``serial``, ``process``
(``backends``) and ``ray`` (``ray_backend``)."""
