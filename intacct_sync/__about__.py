"""The package version (read by the build backend and ``intacct_sync.__version__``)."""

__version__ = "0.1.0"
