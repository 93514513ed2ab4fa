"""The MLflow 3 baseline: a model served the way MLflow 3's scoring server serves it.

MLflow 3 replaced the Flask app with a FastAPI one (mlflow.pyfunc.scoring_server)
run by uvicorn; `/invocations` reads the body in its async handler and hands
it to a thread (`asyncio.to_thread`), which parses it into a pandas DataFrame
(`dataframe_split` or `dataframe_records`), calls the model's predict
function on it and writes the result as JSON.
Same here, with `predict_proba` (as Insighter answers probabilities) on the
same model.pkl, under uvicorn with 2 worker processes:

    BASELINE_MODEL_DIR=<model dir> /usr/bin/python3 -m uvicorn --factory --workers 2 \
        --app-dir bench/deployments --port <port> fastapi_baseline:create_app
"""

import asyncio
import json
import os
import pickle

import pandas as pd
from fastapi import FastAPI, Request, Response


def create_app() -> FastAPI:
    with open(os.path.join(os.environ["BASELINE_MODEL_DIR"], "model.pkl"), "rb") as f:
        model = pickle.load(f)
    classes = [c.item() if hasattr(c, "item") else c for c in model.classes_]
    keys = [str(c) for c in classes]
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> Response:
        return Response("\n", status_code=200, media_type="application/json")

    def invoke(body: bytes) -> str:
        document = json.loads(body)
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
        return json.dumps({"predictions": predictions})

    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        body = await request.body()
        result = await asyncio.to_thread(invoke, body)
        return Response(result, status_code=200, media_type="application/json")

    return app
