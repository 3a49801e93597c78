"""From a suite's runs to what a reader sees: the analysis (``analysis``), tables (``tables``), plots
(``plots``, return Figures), figure files (``figures``), the leaderboard (``leaderboard``), the report
(``report``), one suite's outputs (``suite_outputs``) and tables of imported scores (``external``)."""
