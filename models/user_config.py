"""The one switch the grader reads: `UserModel` is the class it instantiates.

Change the assignment to submit another model. The CPU baseline runs anywhere (no language
model); `VLLMShopModel` (models/vllm_model.py) is the real submission once it has weights.
"""

from models.baseline_model import BaselineModel

UserModel = BaselineModel
