"""Every plot of the workflow: matplotlib with mplhep styling, PDF and PNG."""
