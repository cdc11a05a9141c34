"""The one switch the grader imports: `UserModel` is the class it instantiates.

`VLLMShopModel` answers through vLLM over the weights in models/weights/ (or `--weights`). Until
you put yours there it runs the embedded development model that scripts/setup.sh writes
(SmolLM2-135M-Instruct in 4 bits; git-ignored, never submitted). Assign another class here to
submit another model, e.g. `BaselineModel` (models/baseline_model.py, no language model).
"""

from models.vllm_model import VLLMShopModel

UserModel = VLLMShopModel
