"""Local model tiers: GGUF files from pinned PyPI wheels (`models`), served by llama.cpp on 127.0.0.1 (`serve`)."""
