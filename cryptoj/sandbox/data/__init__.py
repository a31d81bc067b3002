"""The packaged real 1-minute bars (see README.md here)."""
