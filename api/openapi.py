"""The API's description (``/openapi.json``), completed with what only the node's configuration
knows: the case-number pattern of ``cases.number_patterns`` on every case-number path parameter
and on a new case's ``number``."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI

from configs.schema import CaseNumberPatterns

NAMED_GROUP = re.compile(r"\(\?P<\w+>")


def case_number_pattern(patterns: CaseNumberPatterns) -> str:
    """One regular expression for every configured case-number type (named groups unnamed, so
    the alternatives can share names and ECMAScript engines read it too)."""
    alternatives = (patterns.criminal, patterns.administrative, patterns.incident)
    joined = "|".join(f"(?:{NAMED_GROUP.sub('(', a)})" for a in alternatives)
    return f"^(?:{joined})$"


def described(app: FastAPI, patterns: CaseNumberPatterns) -> dict[str, Any]:
    """The OpenAPI document with the case-number pattern filled in (built once, then kept)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = app.openapi()
    pattern = case_number_pattern(patterns)
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter.get("name") == "number":
                    parameter["schema"]["pattern"] = pattern
    create = schema.get("components", {}).get("schemas", {}).get("CaseCreate")
    if create is not None:
        create["properties"]["number"]["pattern"] = pattern
    app.openapi_schema = schema
    return schema
