"""Commands that write model directories (`tiny-model`, `import-gguf`) and what they share.

Not on the submission's import path: `VLLMShopModel` never imports this package.
"""
