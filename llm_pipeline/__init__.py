"""Mixture-of-experts text pipeline: gate (split + route), experts, fusion, judge,
model backends, and the builder of the quality table the environment reads.

Heavy dependencies (llama-cpp-python, sentence-transformers, openai) are imported
lazily, so ``import llm_pipeline`` stays cheap.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
