# SPDX-License-Identifier: Apache-2.0
"""Training and batch scoring on Spark (the optional extra ``homerec[spark]``).

Only the CLI imports this package, lazily: serving and the single-machine pipeline never load
pyspark. What Spark trains is an ordinary ALS artifact in the model registry, so `batch`,
`serve`, `compare` and `evaluate` cannot tell which engine trained it.
"""
