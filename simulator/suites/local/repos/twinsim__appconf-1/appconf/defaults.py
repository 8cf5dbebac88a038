"""Built-in settings, used for keys that the config file does not set."""

DEFAULTS = {
    "host": "localhost",
    "port": 8080,
    "timeout": 30,
    "retries": 3,
}
