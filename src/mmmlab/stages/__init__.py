"""One module per pipeline stage: read params, compute, write outputs atomically, log one MLflow run."""
