"""The answering program: everything `VLLMShopModel` (models/) runs inside the grader's
container: router, answer shapes, decoding plans, prompts, the engine, post-processing, the
deadline guard and choice calibration. Imports only runtime.common, never grading."""
