"""The baseline: a model served the way MLflow's scoring server serves it.

`mlflow models serve` runs a Flask app (mlflow.pyfunc.scoring_server) under
gunicorn; each `/invocations` request is parsed into a pandas DataFrame
(`dataframe_split` or `dataframe_records`), the model's predict function is
called on it, and the result is written back as JSON. Same here, with
`predict_proba` (as Insighter answers probabilities) on the same model.pkl:

    gunicorn -w <workers> -b 127.0.0.1:<port> --chdir bench/deployments \
        'flask_baseline:create_app("<model dir>")'
"""

import json
import os
import pickle

import pandas as pd
from flask import Flask, Response, request


def create_app(model_dir: str) -> Flask:
    with open(os.path.join(model_dir, "model.pkl"), "rb") as f:
        model = pickle.load(f)
    classes = [c.item() if hasattr(c, "item") else c for c in model.classes_]
    keys = [str(c) for c in classes]
    app = Flask(__name__)

    @app.route("/ping", methods=["GET"])
    def ping():
        return Response("\n", status=200, mimetype="application/json")

    @app.route("/invocations", methods=["POST"])
    def invocations():
        document = json.loads(request.get_data())
        if "dataframe_split" in document:
            split = document["dataframe_split"]
            frame = pd.DataFrame(split["data"], columns=split["columns"])
        else:
            frame = pd.DataFrame(document["dataframe_records"])
        probabilities = model.predict_proba(frame)
        best = probabilities.argmax(axis=1)
        predictions = [
            {"prediction": classes[b], "probabilities": dict(zip(keys, row))}
            for b, row in zip(best.tolist(), probabilities.tolist())
        ]
        return Response(json.dumps({"predictions": predictions}), status=200, mimetype="application/json")

    return app
