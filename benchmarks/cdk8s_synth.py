"""cdk8s building and synthesizing the given Kubernetes objects (run by benchmarks/fleet.py in its own process).

<python with cdk8s> benchmarks/cdk8s_synth.py documents.json outdir
"""

import json
import sys

import cdk8s
from constructs import Construct

documents = json.loads(open(sys.argv[1]).read())
app = cdk8s.App(outdir=sys.argv[2])
chart = cdk8s.Chart(app, "fleet")


class Fleet(Construct):
    def __init__(self, scope: Construct, id: str):
        super().__init__(scope, id)
        for i, document in enumerate(documents):
            cdk8s.ApiObject(
                self,
                f"o{i}",
                api_version=document["apiVersion"],
                kind=document["kind"],
                metadata=cdk8s.ApiObjectMetadata(
                    name=document["metadata"]["name"], namespace=document["metadata"].get("namespace")
                ),
            ).add_json_patch(cdk8s.JsonPatch.add("/spec", document.get("spec", {})))


Fleet(chart, "objects")
app.synth()
