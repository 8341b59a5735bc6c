"""redframe: an open mobile-imaging stack (raw develop, looks, night mode, frames, camera app)."""

__version__ = "0.1.0"
SOFTWARE = f"redframe {__version__}"

__all__ = ["__version__", "SOFTWARE"]
