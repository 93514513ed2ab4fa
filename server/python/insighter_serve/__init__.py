"""Insighter's scoring worker: one model directory served with MLflow's scoring protocol.

    /usr/bin/python3 -m insighter_serve --model-dir <dir> [--host 127.0.0.1] [--port 0]

`<dir>` is a model as the training script writes it (`model/` of a run):
`MLmodel` (flavors and the input signature), `model.pkl` (a fitted
scikit-learn Pipeline that takes the raw columns) and `input_example.json`.

It answers what `mlflow models serve` answers — `GET /ping`, `GET /health`,
`GET /version`, `POST /invocations` with JSON holding exactly one of
`dataframe_split`, `dataframe_records`, `instances` or `inputs`, or with
`text/csv` — so clients of MLflow work unchanged; classifiers answer each
row's label and class probabilities. The sidecar runs one worker per
deployment and sends it micro-batches (many requests' rows in one
`dataframe_split`); `GET /metadata` tells it the signature.

Speed: the pipeline's arithmetic is replayed with numpy when its steps allow
it (compiled.py), after checking on the model's own input example that it
answers exactly as the pipeline does; otherwise the pipeline itself is called.
"""
