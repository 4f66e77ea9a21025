"""The app's widgets, one module (or folder) per feature; import them by module path."""
