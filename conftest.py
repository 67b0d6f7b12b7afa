"""Project-wide test configuration: pytester drives the plugin in its own pytest runs."""

pytest_plugins = ["pytester"]
