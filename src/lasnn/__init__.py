"""lasnn: LAS conversion of Hugging Face transformers into fully spike-driven networks."""

__version__ = "0.1.0"
