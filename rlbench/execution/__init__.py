"""Running a suite's runs: the launcher (``launcher``), one attempt in a worker (``worker``), and the
backends ``serial``, ``process`` (``backends``) and ``ray`` (``ray_backend``)."""
