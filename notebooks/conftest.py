"""Under pytest (nbval) the notebooks always run in their shrunken CI form: bundled sample
photos, random weights, a few steps. The kernel inherits this environment."""
import os

os.environ.setdefault("CI", "true")
