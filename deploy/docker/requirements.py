"""Print pyproject.toml's dependencies for one image: the scan image's, or the model libraries.

The seed blocks, the pool and the code server need neither torch nor the model families, so the
scan image leaves them out (about 1 GB less); the full image adds them. One list, pyproject's, so
the images cannot drift from ``pip install .``.

    python requirements.py pyproject.toml scan     # everything but the model libraries
    python requirements.py pyproject.toml models   # the model libraries less torch
"""

import re
import sys
import tomllib

MODEL_LIBRARIES = {"torch", "xgboost-cpu", "lightgbm", "catboost", "scikit-learn"}


def name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower()


def main(path: str, which: str) -> None:
    with open(path, "rb") as f:
        deps = tomllib.load(f)["project"]["dependencies"]
    if which == "scan":
        chosen = [d for d in deps if name(d) not in MODEL_LIBRARIES]
    elif which == "models":  # torch comes first, from its own wheel index (the Dockerfile)
        chosen = [d for d in deps if name(d) in MODEL_LIBRARIES - {"torch"}]
    else:
        raise SystemExit(f"{which!r}: say scan or models")
    print("\n".join(chosen))


if __name__ == "__main__":
    main(*sys.argv[1:])
