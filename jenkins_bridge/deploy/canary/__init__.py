"""Progressive delivery (``strategy: canary``): the analysis that judges a new version against
the stable one at each traffic step, and the metrics sources it reads."""
