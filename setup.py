"""Builds the bridge's Python extension (pybridge._shm); everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "pybridge._shm",
            sources=["pybridge/native/_shm.c"],
            include_dirs=["pybridge/include"],
            extra_compile_args=["-O2", "-std=gnu11"],
        )
    ]
)
