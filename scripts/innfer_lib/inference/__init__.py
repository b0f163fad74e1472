"""The likelihood, fit problems, minimisation, Hessians, covariances, scans and impacts."""
