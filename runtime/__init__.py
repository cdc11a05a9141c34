"""The ShopBench submission runtime, in two programs that share `runtime.common`:

- what ships in the grader's container: `runtime.answering` (router, answer shapes, prompts,
  the vLLM engine, post-processing, the deadline guard), run by the `UserModel` in `models/`;
- what runs only on a team's own machines: `runtime.grading` (data, the official parsers,
  scoring under either scheme, the evaluation loop, resume, compare, the viewer),
  `runtime.budget` (profiler and paper estimate), `runtime.submission` (the checker) and
  `runtime.tools` (quantizing and writing model folders), driven by `runtime.cli`.
"""
