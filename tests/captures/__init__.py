"""Public captures of real sticks and loggers, replayed through our own links."""
