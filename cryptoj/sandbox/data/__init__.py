"""The packaged real 1-minute bars (see README.md here); data only, no code."""

__all__: list[str] = []
