"""Links to devices: one small interface, several wire formats."""
