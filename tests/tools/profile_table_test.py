"""tools/gpu/profile_table.py on a hand-made profile whose table is known."""
import io
import json
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stdout, redirect_stderr

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools", "gpu"))
import profile_table  # noqa: E402


def profile():
    return {
        "apiVersion": "platsim.dev/v1alpha1", "kind": "LatencyProfile",
        "metadata": {"name": "m on G", "estimate": False},
        "provenance": {
            "device": {"name": "G"}, "commit": "0123456789abcdef", "date": "2026-11-22T00:00:00Z",
            "software": {"driver": "CUDA 13.0", "cudaRuntime": "13.0", "cublas": "13.0.0"},
            "ceilings": {"copyBandwidthGBps": 3000.0, "bf16Tflops": 700.0},
            "model": {"name": "m"}},
        "measurements": {"layerDecode": {"batchSizes": [1, 8], "kvLengths": [128, 1024],
                                         "medianSeconds": [[1.0, 2.0], [3.0, 8.0]]}},
        "kernels": [
            {"name": "rmsnorm", "shape": "4096x4096", "bound": "memory", "medianSeconds": 25e-6,
             "achievedGBps": 2700.0, "achievedTflops": 0.0, "fractionOfCeiling": 0.9},
            {"name": "gemm ffn up", "shape": "4096x14336x4096", "bound": "compute",
             "medianSeconds": 1e-3, "achievedGBps": 0.3, "achievedTflops": 350.0,
             "fractionOfCeiling": 0.5}]}


class ProfileTableTest(unittest.TestCase):
    def test_kernel_rows_mark_the_70_percent_target(self):
        rows = profile_table.kernel_rows(profile())
        self.assertEqual(rows[0][1:], ["rmsnorm", "4096x4096", "memory", "25.0", "2700 GB/s",
                                       "90%", "yes"])
        self.assertEqual(rows[1][5:], ["350 TFLOP/s", "50%", "no"])

    def test_layers_are_compared_where_both_grids_have_the_point(self):
        torch = {"layerDecode": {"batchSizes": [8, 16], "kvLengths": [1024, 128],
                                 "medianSeconds": [[4.0, 2.0], [9.0, 9.0]]}}
        points = profile_table.layer_comparison(profile(), torch)
        # Shared points: (8, 128) -> ours 3, theirs 2; (8, 1024) -> ours 8, theirs 4.
        self.assertEqual(sorted(points), [("decode", 8, 128, 3.0, 2.0),
                                          ("decode", 8, 1024, 8.0, 4.0)])
        summary = profile_table.layer_summary("m", points)
        # Ratios 1.5 and 2: none no slower; geometric mean sqrt(3); worst 2.
        self.assertEqual(summary, [["m", "decode", "2", "0", "%.2f" % 3 ** 0.5,
                                    "2.00 (batch 8, length 1024)"]])

    def test_an_estimate_is_refused(self):
        p = profile()
        p["metadata"]["estimate"] = True
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "p.json")
            with open(path, "w") as f:
                json.dump(p, f)
            err = io.StringIO()
            with redirect_stderr(err):
                self.assertEqual(profile_table.main([path]), 2)
            self.assertIn("not a measured profile", err.getvalue())
            p["metadata"]["estimate"] = False
            with open(path, "w") as f:
                json.dump(p, f)
            out = io.StringIO()
            with redirect_stdout(out):
                self.assertEqual(profile_table.main([path]), 0)
            self.assertIn("| G | CUDA 13.0 | 13.0 | 13.0.0 | 3000 | 700 | 0123456789ab |",
                          out.getvalue())


if __name__ == "__main__":
    unittest.main()
