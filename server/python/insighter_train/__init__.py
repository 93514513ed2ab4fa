"""Insighter's training job: fits a model on a dataset and records it in MLflow.

Run as ``/usr/bin/python3 -m insighter_train`` with:

- ``MLFLOW_TRACKING_URI``: the tracking server (Insighter's sidecar, or any
  MLflow server); ``MLFLOW_TRACKING_TOKEN``: its bearer token;
- ``MLFLOW_RUN_ID``: the run to log to (created by whoever started the job);
- ``INSIGHTER_DATASET_URL``: the dataset as CSV (fetched with the same token);
- ``INSIGHTER_TRAIN_SPEC``: JSON ``{target, algorithm, task?, params,
  model_name, dataset: {id, version, name, sha256}}``.

It talks to the tracking server only through MLflow's REST API (urllib), so
the same script works against a real MLflow server. It logs the parameters,
validation metrics per boosting round (or per batch of trees) as they come,
the final metrics, a confusion matrix and feature importance, the model under
``model/`` in MLflow's sklearn format, the dataset as the run's input, and
registers the model's next version.

Exit codes (the job reports the last ``insighter_train: error:`` line of
stderr as the reason): 0 trained, logged and registered; 1 crashed (an
unexpected exception, its traceback on stderr); 2 bad input; 3 dataset
unavailable or unreadable; 4 tracking server unreachable or refusing; 5 out
of memory.
"""

EXIT_OK = 0
#: An unexpected exception: the traceback is on stderr.
EXIT_CRASH = 1
#: The request cannot be trained: unknown target, wrong task for the target,
#: one class only, hyperparameters out of range, too few rows.
EXIT_BAD_INPUT = 2
#: The dataset could not be downloaded or read (deleted, unreadable).
EXIT_DATASET = 3
#: The tracking server refused or could not be reached.
EXIT_TRACKING = 4
#: Python ran out of memory under the job's limit.
EXIT_OUT_OF_MEMORY = 5

ERROR_PREFIX = "insighter_train: error: "


class TrainError(Exception):
    """A failure with a message a person can act on, and its exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_BAD_INPUT):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
