"""Every JSON answer the suite receives is checked against the generated OpenAPI schema.

The schema is built once from the code (drf-spectacular). An answer must match an
operation of the schema (path template and method), its status code must be documented
for that operation, and its body must validate against the documented schema, with
undocumented properties refused: documentation and behaviour cannot drift apart.
OpenAPI 3.0's `nullable` is turned into JSON Schema's `null` type for jsonschema.
"""

import functools
import json
import re

import jsonschema


@functools.cache
def _schema():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _strict(node):
    """OpenAPI 3.0 schema -> JSON Schema: `nullable` becomes a null type, objects with
    declared properties refuse others."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _strict(value) for key, value in node.items()}
    if node.pop("nullable", False):
        node = {"anyOf": [node, {"type": "null"}]}
    elif node.get("type") == "object" and "properties" in node and "additionalProperties" not in node:
        node["additionalProperties"] = False
    return node


def _validator(schema, components):
    return jsonschema.Draft202012Validator({**_strict(schema), "components": components})


@functools.cache
def _operations():
    """[(parameters, compiled path regex, {method: {status: validator or None}})], fewest parameters first."""
    schema = _schema()
    components = _strict(schema.get("components", {}))
    operations = []
    for template, item in schema["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
        methods = {}
        for method, operation in item.items():
            statuses = {}
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {}).get("application/json")
                statuses[status] = (
                    _validator(content["schema"], components) if content and "schema" in content else None
                )
            methods[method] = statuses
        operations.append((template.count("{"), pattern, methods))
    # A literal segment wins over a parameter (".../annotations/bulk" is not ".../annotations/{id}").
    return sorted(operations, key=lambda operation: operation[0])


def check_response(method, path, response):
    """AssertionError unless `response` to `method path` is what the schema documents."""
    if not path.startswith("/api/v1/") or response.status_code in (405,):
        return
    content_type = response.get("Content-Type", "")
    operations = _operations()
    matches = [methods for _, pattern, methods in operations if pattern.match(path.split("?")[0])]
    if not matches:
        assert response.status_code == 404, f"{method} {path} answered {response.status_code} but is not in the schema"
        return
    statuses = matches[0].get(method.lower())
    assert statuses is not None, f"{method} {path}: method not in the schema"
    status = str(response.status_code)
    assert status in statuses, f"{method} {path}: status {status} is not documented ({sorted(statuses)})"
    validator = statuses[status]
    if validator is None or not content_type.startswith("application/json") or not response.content:
        return
    body = json.loads(response.content)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, f"{method} {path} ({status}) disagrees with the schema: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path)) or '<body>'}: {e.message[:200]}" for e in errors[:5]
    )
