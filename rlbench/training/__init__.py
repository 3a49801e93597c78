"""One run: the environment loop (``loop``), the evaluation protocol (``evaluation``), the run monitor
(``monitor``) and the runner that ties them together (``runner``)."""
