"""Azure Table Storage: the only package that imports azure.data.tables."""
