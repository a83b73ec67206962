"""`python bench/nlp.py [options]`: runs bench/nlp_benchmark.py (the Plaint-vs-baseline table).

The benchmark lives in its own module because a file named nlp.py cannot be type-checked next to the
`nlp` package.
"""

import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).with_name("nlp_benchmark.py")), run_name="__main__")
