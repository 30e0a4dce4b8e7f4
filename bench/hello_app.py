"""The hello-world anchor: a minimal Falcon app, served by gunicorn with the product's web flags.

GET /hello answers a small JSON document; POST /hello reads a JSON body and answers 201.
"""
from __future__ import annotations

import falcon


class Hello:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"hello": "world"}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = req.get_media()
        resp.status = falcon.HTTP_201
        resp.media = {"hello": body.get("budgetId") if isinstance(body, dict) else None}


def get_app() -> falcon.App:
    app = falcon.App()
    app.add_route("/hello", Hello())
    return app
