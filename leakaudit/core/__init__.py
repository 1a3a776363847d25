"""The framework every audit uses: params, pipeline declarations and their registry, dvc.yaml
generation, tables and schemas, the store, statistics, tracking and reports."""
