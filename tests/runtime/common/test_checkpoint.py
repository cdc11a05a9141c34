"""A checkpoint's quantization read alike from AWQ, GPTQ and compressed-tensors configs."""

import pytest

from runtime.common.checkpoint import Scheme, quantization_scheme


@pytest.mark.parametrize("config, scheme", [
    ({"quant_method": "awq", "bits": 4, "group_size": 128, "zero_point": True,
      "version": "gemm"}, Scheme("awq", 4, 128, True, "gemm")),
    ({"quant_method": "gptq", "bits": 4, "group_size": 64, "sym": True},
     Scheme("gptq", 4, 64, False, "")),
    ({"quant_method": "compressed-tensors", "format": "pack-quantized", "config_groups": {
        "group_0": {"targets": ["Linear"], "weights": {"num_bits": 4, "symmetric": False,
                                                       "strategy": "group",
                                                       "group_size": 128}}}},
     Scheme("compressed-tensors", 4, 128, True, "pack-quantized")),
    ({"quant_method": "compressed-tensors", "format": "pack-quantized", "config_groups": {
        "group_0": {"weights": {"num_bits": 4, "symmetric": True, "strategy": "channel"}}}},
     Scheme("compressed-tensors", 4, -1, False, "pack-quantized")),
    ({"quant_method": "compressed-tensors", "config_groups": []},
     Scheme("compressed-tensors", None, -1, False, "")),
])
def test_each_format_gives_bits_group_size_and_zero_point(config, scheme):
    assert quantization_scheme(config) == scheme
