import sys

# Before the heavy imports (pandas, scikit-learn, XGBoost take a second or
# two): the job shows a first line at once.
print(f"insighter_train: starting (Python {sys.version.split()[0]})", flush=True)

from .main import main  # noqa: E402

sys.exit(main())
