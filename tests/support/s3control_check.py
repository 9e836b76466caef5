"""Checks S3 Control requests against AWS's own service model, as botocore ships it.

moto has no S3 Batch Operations, so s3bridge's CreateJob/DescribeJob/ListJobs requests
are answered by a stub in the tests; this script is the independent judge of what
s3bridge sends, using botocore's s3control model (the same one `aws s3control ...`
uses):

  validate JOB.json
      JOB.json (what `s3bridge replicate-existing --dry-run` prints) must pass botocore's
      parameter validation for CreateJobRequest: the check `aws s3control create-job
      --cli-input-json` runs before sending anything (unknown or misspelled members,
      wrong types, missing required members, lengths), and every enum value against the
      model's list (which botocore leaves to the service).

  compare JOB.json REQUEST.json
      REQUEST.json is a request the stub recorded ({"method", "path", "headers", "body"}).
      botocore's REST-XML serializer turns JOB.json into the request AWS documents;
      the recorded one must match it: method, path, x-amz-account-id header, and the XML
      body (same elements, same values, same list order).

Exit status 0 when the check passes; otherwise the differences are printed and it is 1.
"""

import json
import sys
import xml.etree.ElementTree as ET

import botocore.session
from botocore.serialize import create_serializer
from botocore.validate import ParamValidator


def operation(name):
    model = botocore.session.get_session().get_service_model("s3control")
    return model.operation_model(name)


def enum_errors(value, shape, path="CreateJobRequest"):
    """botocore's validator leaves enum values to the service; check them here too."""
    errors = []
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                errors += enum_errors(value[name], member, f"{path}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            errors += enum_errors(item, shape.member, f"{path}[{i}]")
    elif shape.type_name == "string" and shape.enum and value not in shape.enum:
        errors.append(f"{path}: {value!r} is not one of {shape.enum}")
    return errors


def validate(job_path):
    params = json.load(open(job_path))
    shape = operation("CreateJob").input_shape
    report = ParamValidator().validate(params, shape)
    errors = enum_errors(params, shape)
    if report.has_errors():
        errors.insert(0, report.generate_report())
    for e in errors:
        print(e)
    return 1 if errors else 0


def strip(tag):
    return tag.split("}", 1)[-1]


def tree(element):
    """An element as (name, text or children), children in document order."""
    children = list(element)
    if not children:
        return (strip(element.tag), (element.text or "").strip())
    return (strip(element.tag), [tree(c) for c in children])


def canonical(node):
    """Structure members in any order, list members in their order: AWS's XML members
    are named, so their order carries no meaning; a list's items are all `member`."""
    name, value = node
    if isinstance(value, str):
        return (name, value)
    items = [canonical(c) for c in value]
    if all(c[0] == "member" for c in items):
        return (name, items)
    return (name, sorted(items, key=lambda c: json.dumps(c)))


def compare(job_path, request_path):
    params = json.load(open(job_path))
    recorded = json.load(open(request_path))
    op = operation("CreateJob")
    expected = create_serializer("rest-xml").serialize_to_request(params, op)
    problems = []
    if recorded["method"] != expected["method"]:
        problems.append(f"method {recorded['method']} != {expected['method']}")
    if recorded["path"].split("?")[0] != expected["url_path"]:
        problems.append(f"path {recorded['path']} != {expected['url_path']}")
    headers = {k.lower(): v for k, v in recorded["headers"].items()}
    for name, value in expected["headers"].items():
        if name.lower().startswith("x-amz-") and headers.get(name.lower()) != value:
            problems.append(f"header {name}: {headers.get(name.lower())!r} != {value!r}")
    got = canonical(tree(ET.fromstring(recorded["body"])))
    want = canonical(tree(ET.fromstring(expected["body"])))
    if got != want:
        problems.append(
            "body differs:\n  sent:     %s\n  expected: %s"
            % (json.dumps(got), json.dumps(want))
        )
    sent_ns = ET.fromstring(recorded["body"]).tag.split("}")[0].lstrip("{")
    want_ns = op.metadata.get("xmlNamespace") or op.input_shape.serialization.get(
        "xmlNamespace", {}
    ).get("uri")
    want_ns = want_ns or "http://awss3control.amazonaws.com/doc/2018-08-20/"
    if sent_ns != want_ns:
        problems.append(f"XML namespace {sent_ns!r} != {want_ns!r}")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    sys.exit({"validate": validate, "compare": compare}[command](*args))
