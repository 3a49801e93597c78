"""Experience replay: storage behind one interface (``storage``), uniform sampling over it (``buffer``)."""
