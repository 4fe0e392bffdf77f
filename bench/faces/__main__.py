"""`python -m bench.faces …` is the same as `python -m bench faces …`."""

import sys

from bench.faces import main

if __name__ == "__main__":
    main(sys.argv[1:])
