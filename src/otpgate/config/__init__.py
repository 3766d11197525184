"""The gate's settings: one loader, one schema per table, validated per field."""
