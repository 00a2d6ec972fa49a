"""Framework-light helpers shared by the apps (settings parsing, code validation, data protection)."""
